// `scorpio stats [--json]`: per mount and per cache, objects and bytes fetched and where reads were answered.
import type { Command } from 'commander'
import { gatherStats, renderStats } from '../lib/mount/stats.ts'
import { action, printJson } from './_common.ts'

export function register(program: Command): void {
  program
    .command('stats')
    .description('objects and bytes each mount fetched, reads answered from memory, disk or the server (or another process of the cache), and what each cache holds')
    .option('--json', 'print {"mounts":[...],"caches":[...],"silent":[...]} as one JSON document')
    .action(action(async (opts: { json?: boolean }) => {
      const r = await gatherStats()
      if (opts.json) return printJson(r)
      process.stdout.write(renderStats(r))
    }))
}
