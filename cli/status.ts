// `scorpio status [--json]`: what the workspace changes relative to its base commit.
import type { Command } from 'commander'
import { runInWorkspace } from '../lib/workspace/command.ts'
import type { StatusResult } from '../lib/workspace/status.ts'
import { action, printJson } from './_common.ts'

const LETTER = { added: 'A', modified: 'M', deleted: 'D', typechange: 'T' } as const

export function register(program: Command): void {
  program
    .command('status')
    .description('list added, modified, deleted and type-changed files relative to the base commit')
    .option('--json', 'print {"base":"<commit>","changes":[{"path":"…","status":"added|modified|deleted|typechange"}]}')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir (default: the one containing the current directory)')
    .action(action(async (opts: { json?: boolean; dir?: string }) => {
      const { result } = await runInWorkspace({ dir: opts.dir }, { op: 'status' })
      const s = result as StatusResult
      if (opts.json) return printJson(s)
      let out = `base ${s.base}\n`
      if (s.changes.length === 0) out += 'nothing to commit, workspace clean\n'
      for (const c of s.changes) out += `${LETTER[c.status]} ${c.path}\n`
      process.stdout.write(out)
    }))
}
