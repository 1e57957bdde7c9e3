// `scorpio list [--json]`: the mounts on this machine.
import type { Command } from 'commander'
import { listMounts } from '../lib/registry/mod.ts'
import { action, printJson } from './_common.ts'

export function register(program: Command): void {
  program
    .command('list')
    .description('list the scorpio mounts on this machine: mountpoint, remote, base commit, upper dir, pid')
    .option('--json', 'print {"mounts":[...]} as one JSON document')
    .action(action((opts: { json?: boolean }) => {
      const mounts = listMounts()
      if (opts.json) {
        printJson({
          mounts: mounts.map((m) => ({
            mountpoint: m.mountpoint,
            remote: m.remote,
            base: m.base,
            upper: m.upper,
            state: m.state,
            pid: m.pid,
            ...(m.path ? { path: m.path } : {}),
            ephemeral: Boolean(m.ephemeral),
            startedAt: m.startedAt,
          })),
        })
        return
      }
      if (mounts.length === 0) {
        process.stdout.write('no scorpio mounts\n')
        return
      }
      for (const m of mounts) {
        process.stdout.write(`${m.mountpoint}\t${m.remote}${m.path ? ` (${m.path})` : ''}\tbase ${m.base.slice(0, 12)}\tupper ${m.upper}\tpid ${m.pid}\n`)
      }
    }))
}
