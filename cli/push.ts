// `scorpio push [--ref refs/heads/NAME] [--force]`: send the local commits to the remote.
import type { Command } from 'commander'
import { runInWorkspace } from '../lib/workspace/command.ts'
import type { PushOutcome } from '../lib/workspace/history.ts'
import { action, printJson } from './_common.ts'

export function register(program: Command): void {
  program
    .command('push')
    .description('send local commits to the remote; a non-fast-forward is refused unless --force')
    .option('--ref <ref>', 'the remote ref to update (default: the branch the workspace follows)')
    .option('--force', 'overwrite the remote ref even when it is not an ancestor')
    .option('--json', 'print {"ref","old","new","objects","commits","updated"}')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (opts: { ref?: string; force?: boolean; json?: boolean; dir?: string }) => {
      const { result } = await runInWorkspace({ dir: opts.dir }, { op: 'push', args: { ref: opts.ref, force: Boolean(opts.force) } })
      const r = result as PushOutcome
      if (opts.json) return printJson({ ref: r.ref, old: r.oldOid, new: r.newOid, objects: r.objects, commits: r.commits, updated: r.updated })
      if (!r.updated) process.stdout.write(`${r.ref} is already at ${r.newOid}\n`)
      else process.stdout.write(`${r.ref}: ${r.oldOid ? r.oldOid.slice(0, 12) : '(new)'}..${r.newOid.slice(0, 12)} (${r.objects} objects)\n`)
    }))
}
