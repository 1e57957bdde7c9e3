// `scorpio checkout REV [--force]`: move the workspace to another commit, in place.
import type { Command } from 'commander'
import type { CheckoutResult } from '../lib/workspace/checkout.ts'
import { runInWorkspace } from '../lib/workspace/command.ts'
import { action, printJson } from './_common.ts'

export function register(program: Command): void {
  program
    .command('checkout')
    .description('show another commit (branch, tag or id); refuses with local changes unless --force')
    .argument('<rev>', 'branch, tag or commit id (abbreviated too); HEAD is the base commit; ~N and ^N name ancestors (HEAD~1, main^2)')
    .option('--force', 'keep local changes on top where they do not conflict (conflicting ones are backed up and reverted)')
    .option('--json', 'print {"from","to","files","changedDirs","kept","conflicts","backupDir"?}')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (rev: string, opts: { force?: boolean; json?: boolean; dir?: string }) => {
      const { result } = await runInWorkspace({ dir: opts.dir }, { op: 'checkout', args: { rev, force: Boolean(opts.force) } })
      const r = result as CheckoutResult
      if (opts.json) return printJson(r)
      let out = `base ${r.to} (${r.files} files differ in ${r.changedDirs.length} directories)\n`
      if (r.kept.length) out += `kept ${r.kept.length} local change(s)\n`
      if (r.conflicts.length) {
        out += `conflicting local changes (backed up in ${r.backupDir ?? 'nowhere: kept on top'}):\n`
        for (const p of r.conflicts) out += `  ${p}\n`
      }
      process.stdout.write(out)
    }))
}
