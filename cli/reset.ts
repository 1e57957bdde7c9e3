// `scorpio reset --hard`: drop every local change.
import type { Command } from 'commander'
import { runInWorkspace } from '../lib/workspace/command.ts'
import { action, UsageError } from './_common.ts'

export function register(program: Command): void {
  program
    .command('reset')
    .description('discard every local change (the workspace shows its base commit again)')
    .option('--hard', 'required: discard all local changes')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (opts: { hard?: boolean; dir?: string }) => {
      if (!opts.hard) throw new UsageError('Only reset --hard exists: it discards every local change')
      await runInWorkspace({ dir: opts.dir }, { op: 'reset' })
    }))
}
