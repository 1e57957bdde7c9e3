// Every subcommand, one file each; a file exports `register(program)`. Only the subcommand being
// run is loaded (with its share of lib/), so `scorpio status` does not pay for FUSE, HTTP or antares.
import type { Command } from 'commander'

type Loader = () => Promise<{ register: (program: Command) => void }>

const loaders: Record<string, Loader> = {
  mount: () => import('./mount.ts'),
  list: () => import('./list.ts'),
  umount: () => import('./umount.ts'),
  wait: () => import('./wait.ts'),
  prefetch: () => import('./prefetch.ts'),
  antares: () => import('./antares.ts'),
  status: () => import('./status.ts'),
  diff: () => import('./diff.ts'),
  commit: () => import('./commit.ts'),
  push: () => import('./push.ts'),
  checkout: () => import('./checkout.ts'),
  reset: () => import('./reset.ts'),
  restore: () => import('./restore.ts'),
  log: () => import('./log.ts'),
  blame: () => import('./blame.ts'),
  gc: () => import('./gc.ts'),
  stats: () => import('./stats.ts'),
}

/** Registers the subcommand named in argv, or all of them (for help and for errors about unknown names). */
export async function registerCommands(program: Command, argv: string[]): Promise<void> {
  const name = argv.find((a) => !a.startsWith('-'))
  const names = name !== undefined && name in loaders ? [name] : Object.keys(loaders)
  const modules = await Promise.all(names.map((n) => loaders[n]()))
  for (const m of modules) m.register(program)
}
