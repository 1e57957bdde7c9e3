// Shared by the benchmark scripts: the two ways to run `scorpio` they time, built when stale.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The single binary the project ships (`npm run compile`): the `scorpio` command targets apply to. */
export const BINARY = join(ROOT, 'dist', 'scorpio')
/** The npm package's bundled CLI, run with node (reported beside the binary). */
export const NODE_CLI = join(ROOT, 'dist', 'scorpio.mjs')

function newest(dir: string): number {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs)
  }
  return t
}

/** Builds dist/scorpio.mjs and dist/scorpio unless they are newer than every source. */
export function ensureBuilt(log: (line: string) => void): void {
  const sources = Math.max(newest(join(ROOT, 'cli')), newest(join(ROOT, 'lib')), statSync(join(ROOT, 'package.json')).mtimeMs)
  const stale = (f: string) => !existsSync(f) || statSync(f).mtimeMs < sources
  if (stale(NODE_CLI)) {
    log('building dist/scorpio.mjs…')
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  }
  if (stale(BINARY) || statSync(BINARY).mtimeMs < statSync(join(ROOT, 'scripts', 'compile.mjs')).mtimeMs) {
    log('building dist/scorpio (bun build --compile)…')
    execFileSync('npm', ['run', 'compile'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  }
}
