// `scorpio gc --max-size SIZE`: trim the object cache every workspace shares.
import type { Command } from 'commander'
import { loadSettings } from '../lib/config/settings.ts'
import { gcCache, parseSize } from '../lib/store/cache_gc.ts'
import { defaultCacheDir } from '../lib/workspace/state.ts'
import { action, printJson, UsageError } from './_common.ts'

const mb = (n: number) => `${(n / 1048576).toFixed(1)} MB`

export function register(program: Command): void {
  program
    .command('gc')
    .description('trim the object cache shared by every workspace to a size, least recently used first; objects of unpushed commits are kept, anything else is fetched again when read')
    .requiredOption('--max-size <size>', 'the budget: bytes, or with K, M, G, T (e.g. 10G); 0 empties the cache of everything not pinned')
    .option('--cache <dir>', 'the cache to trim (default: --cache of scorpio.toml, SCORPIO_CACHE or $XDG_CACHE_HOME/scorpio)')
    .option('--json', 'print {"removedObjects":N,"removedBytes":N,"keptObjects":N,"keptBytes":N,"remotes":N} as one JSON document')
    .action(action(async (opts: { maxSize: string; cache?: string; json?: boolean }) => {
      const maxBytes = parseSize(opts.maxSize)
      if (maxBytes === undefined) throw new UsageError(`--max-size "${opts.maxSize}" is not a size; give bytes or a number with K, M, G or T, e.g. 10G`)
      const cacheDir = loadSettings({ cache: opts.cache }).settings.cache ?? defaultCacheDir()
      const r = await gcCache(cacheDir, maxBytes)
      if (r.remotes === 0) process.stderr.write(`scorpio: no object cache in "${cacheDir}" (nothing to trim); pass the directory mounts use with --cache\n`)
      if (opts.json) return printJson(r)
      process.stdout.write(`removed ${r.removedObjects} object file(s), ${mb(r.removedBytes)}; kept ${r.keptObjects}, ${mb(r.keptBytes)} (${r.remotes} remote(s) in ${cacheDir})\n`)
    }))
}
