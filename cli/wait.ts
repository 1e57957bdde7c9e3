// `scorpio wait MOUNTPOINT [--timeout S]`: for scripts that started a foreground mount with `&`.
import type { Command } from 'commander'
import { waitForMount } from '../lib/mount/wait.ts'
import { action, UsageError } from './_common.ts'

export function register(program: Command): void {
  program
    .command('wait')
    .description('wait until a mount started elsewhere (e.g. `scorpio mount ... &`) is ready; exit 1 on timeout')
    .argument('<mountpoint>', 'the directory being mounted')
    .option('--timeout <seconds>', 'give up after this many seconds', '120')
    .action(action(async (mountpoint: string, opts: { timeout: string }) => {
      const timeout = Number(opts.timeout)
      if (!(timeout > 0)) throw new UsageError(`--timeout "${opts.timeout}" must be a positive number of seconds`)
      await waitForMount(mountpoint, { timeout })
    }))
}
