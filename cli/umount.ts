// `scorpio umount MOUNTPOINT`: stop the serving process and unmount (a notice when nothing was mounted).
import type { Command } from 'commander'
import { stopMount } from '../lib/mount/stop.ts'
import { action, UsageError } from './_common.ts'

export function register(program: Command): void {
  program
    .command('umount')
    .alias('unmount')
    .description('unmount a workspace and stop its serving process (exit 0 with a notice when nothing is mounted there)')
    .argument('<mountpoint>', 'the directory the workspace is mounted on')
    .option('--timeout <seconds>', 'how long to wait for the serving process to finish', '30')
    .action(action(async (mountpoint: string, opts: { timeout: string }) => {
      const timeout = Number(opts.timeout)
      if (!(timeout > 0)) throw new UsageError(`--timeout "${opts.timeout}" must be a positive number of seconds`)
      const result = await stopMount(mountpoint, { timeout })
      if (result.outcome === 'not-mounted') console.error(`scorpio: nothing is mounted at "${mountpoint}"`)
      else if (result.outcome === 'cleaned') console.error(`scorpio: unmounted a stale mount at "${mountpoint}"`)
    }))
}
