// The single binary under test: dist/scorpio, rebuilt (npm run compile) when any source is newer.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync, statSync } from 'node:fs'
import { join, resolve } from 'node:path'

export const BINARY = resolve('dist/scorpio')

function newest(dir: string): number {
  let n = 0
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = statSync(p)
    n = Math.max(n, st.isDirectory() ? newest(p) : st.mtimeMs)
  }
  return n
}

/** Builds dist/scorpio unless it is newer than every source it is built from. */
export function ensureBinary(): void {
  const sources = Math.max(newest(resolve('cli')), newest(resolve('lib')), statSync('package.json').mtimeMs, statSync('scripts/compile.mjs').mtimeMs)
  if (existsSync(BINARY) && statSync(BINARY).mtimeMs > sources) return
  execFileSync(process.execPath, ['scripts/compile.mjs'], { stdio: ['ignore', 'ignore', 'inherit'] })
}
