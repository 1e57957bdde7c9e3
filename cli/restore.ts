// `scorpio restore PATH...`: discard local changes under PATHs.
import type { Command } from 'commander'
import { runInWorkspace, userPaths } from '../lib/workspace/command.ts'
import { action } from './_common.ts'

export function register(program: Command): void {
  program
    .command('restore')
    .description('discard local changes to the given files or directories')
    .argument('<paths...>', 'files or directories')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (paths: string[], opts: { dir?: string }) => {
      const rel = userPaths({ dir: opts.dir }, paths)
      await runInWorkspace({ dir: opts.dir }, { op: 'restore', args: { paths: rel } })
    }))
}
