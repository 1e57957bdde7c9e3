// Shared by the benchmark scripts: the generated monorepo they measure, and a subtree of it to time.
import { execFile } from 'node:child_process'
import { existsSync, mkdirSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const GEN = resolve(root, 'scripts/gen_monorepo.mjs')

/** `bench-data/mono<N>.git` (mono100k.git for 100,000), generated once with scripts/gen_monorepo.mjs and reused. */
export async function ensureBenchRepo(files: number): Promise<string> {
  const dir = join(root, 'bench-data')
  mkdirSync(dir, { recursive: true })
  const path = join(dir, files === 100000 ? 'mono100k.git' : `mono${files}.git`)
  if (!existsSync(join(path, 'HEAD'))) {
    rmSync(path, { recursive: true, force: true })
    await promisify(execFile)(process.execPath, [GEN, path, '--files', String(files)], { maxBuffer: 1 << 20 })
  }
  return path
}

/** Of the directories holding `paths`, the one whose file count (recursive) is closest to `n`. */
export function closestSubtree(paths: Iterable<string>, n: number): { dir: string; files: number } {
  const counts = new Map<string, number>()
  for (const p of paths) {
    const parts = p.split('/')
    for (let i = 1; i < parts.length; i++) {
      const d = parts.slice(0, i).join('/')
      counts.set(d, (counts.get(d) ?? 0) + 1)
    }
  }
  let best = { dir: '', files: 0 }
  for (const [dir, c] of counts) if (!best.dir || Math.abs(c - n) < Math.abs(best.files - n)) best = { dir, files: c }
  return best
}
