// `scorpio prefetch [PATH|GLOB...] [--json]`: fetch contents ahead of use, in large batches.
// `--record FILE` saves the paths the mount has read; `--profile FILE` prefetches such a list.
import type { Command } from 'commander'
import { resolve } from 'node:path'
import { prefetchPaths, recordProfile } from '../lib/mount/prefetch.ts'
import { readPathList } from '../lib/mount/read_log.ts'
import { action, fancyOutput, printJson, UsageError } from './_common.ts'

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

interface PrefetchFlags {
  json?: boolean
  record?: string
  profile?: string
}

export function register(program: Command): void {
  program
    .command('prefetch')
    .description('fetch the contents of files under PATHs or gitignore-style GLOBs (relative to the current directory) in large batches')
    .argument('[paths...]', 'files, directories or globs (default: the current directory)')
    .option('--json', 'print {"files":N,"bytes":N,"fetched":N,"seconds":S} ({"paths":N,"file":F} with --record)')
    .option('--record <file>', 'write the paths this mount has read so far (a profile for --profile)')
    .option('--profile <file>', 'prefetch the paths listed in FILE (workspace-relative, one per line)')
    .action(action(async (paths: string[], opts: PrefetchFlags) => {
      if (opts.record && (opts.profile || paths.length)) throw new UsageError('--record takes no paths and no --profile')
      if (opts.record) {
        const n = await recordProfile(resolve(opts.record))
        if (opts.json) printJson({ paths: n, file: resolve(opts.record) })
        else process.stdout.write(`recorded ${n} paths in ${opts.record}\n`)
        return
      }
      if (opts.profile && paths.length) throw new UsageError('--profile takes no paths')
      const profile = opts.profile ? await readPathList(resolve(opts.profile)).catch((err: Error) => {
        throw new UsageError(`Cannot read profile "${opts.profile}": ${err.message}`)
      }) : undefined
      const bar = !opts.json && fancyOutput() && process.stderr.isTTY
      const result = await prefetchPaths({
        patterns: paths,
        paths: profile,
        onProgress: bar
          ? (p) => {
              const width = 30
              const filled = p.total ? Math.round((p.objects / p.total) * width) : width
              process.stderr.write(`\r[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.objects}/${p.total} objects ${formatBytes(p.bytes)}  `)
            }
          : undefined,
      })
      if (bar) process.stderr.write('\r\x1b[K')
      if (opts.json) printJson({ files: result.files, bytes: result.bytes, fetched: result.fetched, seconds: Math.round(result.seconds * 1000) / 1000 })
      else process.stdout.write(`${result.files} files, ${formatBytes(result.bytes)}; fetched ${result.fetched} in ${result.seconds.toFixed(2)} s\n`)
    }))
}
