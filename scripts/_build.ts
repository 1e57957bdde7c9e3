// The two ways to run `scorpio` that tests and benchmarks time: built when older than their sources.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..')
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

const sourcesTime = () => Math.max(newest(join(ROOT, 'cli')), newest(join(ROOT, 'lib')), statSync(join(ROOT, 'package.json')).mtimeMs)
const older = (file: string, than: number) => !existsSync(file) || statSync(file).mtimeMs < than

const binaryStale = () => older(BINARY, Math.max(sourcesTime(), statSync(join(ROOT, 'scripts', 'compile.mjs')).mtimeMs))

/** Builds dist/scorpio unless it is newer than every source it is built from. */
export function ensureBinary(): void {
  if (!binaryStale()) return
  execFileSync(process.execPath, [join(ROOT, 'scripts', 'compile.mjs')], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
}

/** Builds dist/scorpio.mjs and dist/scorpio unless they are newer than every source. */
export function ensureBuilt(log: (line: string) => void): void {
  if (older(NODE_CLI, sourcesTime())) {
    log('building dist/scorpio.mjs…')
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
  }
  if (binaryStale()) {
    log('building dist/scorpio (bun build --compile)…')
    ensureBinary()
  }
}
