// `scorpio prefetch [PATH|GLOB...] [--json]`: fetch contents ahead of use, in large batches.
import type { Command } from 'commander'
import { prefetchPaths } from '../lib/mount/prefetch.ts'
import { action, fancyOutput, printJson } from './_common.ts'

function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

export function register(program: Command): void {
  program
    .command('prefetch')
    .description('fetch the contents of files under PATHs or gitignore-style GLOBs (relative to the current directory) in large batches')
    .argument('[paths...]', 'files, directories or globs (default: the current directory)')
    .option('--json', 'print {"files":N,"bytes":N,"fetched":N,"seconds":S}')
    .action(action(async (paths: string[], opts: { json?: boolean }) => {
      const bar = !opts.json && fancyOutput() && process.stderr.isTTY
      const result = await prefetchPaths({
        patterns: paths,
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
