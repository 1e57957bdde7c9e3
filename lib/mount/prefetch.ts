// `scorpio prefetch`: fetches the contents of the lower files under some paths (relative to the
// current directory inside a mount) in large parallel batches. It runs in the CLI process on the
// shared on-disk store: the mount process then finds every object locally.
import { promises as fsp, realpathSync } from 'node:fs'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { ScorpioError, UsageError } from '../errors.ts'
import { openLower, type LowerEntry, type LowerView } from '../lower/mod.ts'
import { findWorkspaceForPath, type MountRecord } from '../registry/mod.ts'
import { openRemote } from '../remote/mod.ts'
import { openStore } from '../store/mod.ts'
import type { FetchProgress, Oid } from '../store/types.ts'
import { loadWorkspaceState } from '../workspace/mod.ts'
import { openClLayer } from './cl_layer.ts'
import { compileGlob, hasGlob } from './glob.ts'
import { readLogPath, readPathList } from './read_log.ts'

export interface PrefetchResult {
  /** Files (and symlinks) of the lower layer under the given paths. */
  files: number
  /** Their total size. */
  bytes: number
  /** How many of them had to come from the server in this run. */
  fetched: number
  seconds: number
}

export interface PrefetchOptions {
  /** Paths or gitignore-style globs relative to `cwd`; none means `cwd` itself. */
  patterns?: string[]
  cwd?: string
  /** The mount to use (default: the one containing `cwd`). */
  workspace?: MountRecord
  /** Workspace paths listed in a profile (`--profile FILE`), relative to the workspace root. */
  paths?: string[]
  onProgress?: (done: FetchProgress & { total: number }) => void
}

/** `prefetch --record FILE`: writes the paths the mount containing `cwd` has read so far. */
export async function recordProfile(file: string, options: { cwd?: string; workspace?: MountRecord } = {}): Promise<number> {
  const cwd = options.cwd ?? process.cwd()
  const rec = options.workspace ?? findWorkspaceForPath(cwd)
  if (!rec) throw new ScorpioError('not-in-workspace', `"${cwd}" is not inside a scorpio mount; cd into a workspace (see scorpio list)`)
  const paths = await readPathList(readLogPath(rec.state)).catch(() => [] as string[])
  await fsp.writeFile(`${file}.tmp`, paths.map((p) => p + '\n').join(''))
  await fsp.rename(`${file}.tmp`, file)
  return paths.length
}

function toWorkspacePath(root: string, abs: string, given: string): string {
  const rel = relative(root, abs)
  if (rel.startsWith('..') || isAbsolute(rel)) throw new UsageError(`"${given}" is outside the workspace mounted at "${root}"`)
  return rel.split(sep).filter(Boolean).join('/')
}

/** Every file and symlink under `start` (a workspace path), with its path. */
async function walk(lower: LowerView, start: string, visit: (path: string, entry: LowerEntry) => void): Promise<boolean> {
  const entry = await lower.lookupPath(start)
  if (!entry) return false
  const queue: [string, LowerEntry][] = [[start, entry]]
  while (queue.length) {
    const batch = queue.splice(0, 64)
    await Promise.all(
      batch.map(async ([path, e]) => {
        if (e.kind === 'file' || e.kind === 'symlink') return visit(path, e)
        if (e.kind !== 'dir') return
        for (const [name, child] of await lower.list(e)) queue.push([path ? `${path}/${name}` : name, child])
      }),
    )
  }
  return true
}

export async function prefetchPaths(options: PrefetchOptions = {}): Promise<PrefetchResult> {
  const started = Date.now()
  const cwd = options.cwd ?? process.cwd()
  const rec = options.workspace ?? findWorkspaceForPath(cwd)
  if (!rec) throw new ScorpioError('not-in-workspace', `"${cwd}" is not inside a scorpio mount; cd into a workspace (see scorpio list)`)
  const state = await loadWorkspaceState(rec.state)
  const remote = await openRemote(state.remote.url, { mega: state.remote.mega, path: state.remote.path })
  const store = await openStore({ remote, cacheDir: state.cacheDir })
  try {
    let lower: LowerView = await openLower(store, state.base, { path: state.remote.path })
    if (state.cl) lower = await openClLayer(lower, state.cl, remote)
    const root = rec.mountpoint
    let here: string
    try {
      here = realpathSync(cwd)
    } catch {
      here = resolve(cwd)
    }
    const hereRel = toWorkspacePath(root, here, cwd)
    const wanted = new Map<string, Oid>()
    const take = (path: string, e: LowerEntry): void => {
      if (e.oid) wanted.set(path, e.oid)
    }
    const patterns = options.patterns ?? []
    if (options.paths) {
      for (const p of options.paths) {
        const e = await lower.lookupPath(p)
        if (e?.oid && (e.kind === 'file' || e.kind === 'symlink')) wanted.set(p, e.oid)
      }
    } else if (patterns.length === 0) {
      await walk(lower, hereRel, take)
    }
    for (const pattern of patterns) {
      if (!hasGlob(pattern)) {
        const rel = toWorkspacePath(root, resolve(here, pattern), pattern)
        if (!(await walk(lower, rel, take))) {
          const inUpper = await fsp.lstat(resolve(here, pattern)).then(() => true, () => false)
          if (!inUpper) throw new UsageError(`No such file or directory: "${pattern}"`)
        }
        continue
      }
      const match = compileGlob(pattern)
      const prefix = hereRel ? hereRel + '/' : ''
      await walk(lower, hereRel, (path, e) => {
        if (match(path.slice(prefix.length))) take(path, e)
      })
    }
    const oids = [...new Set(wanted.values())]
    const total = oids.length
    const progress = await store.prefetch(oids, {
      onProgress: options.onProgress ? (p) => options.onProgress!({ ...p, total }) : undefined,
    })
    let bytes = 0
    if (oids.length) for (const s of (await store.blobSizes(oids)).values()) bytes += s
    return { files: wanted.size, bytes, fetched: progress.objects, seconds: (Date.now() - started) / 1000 }
  } catch (err) {
    if (err instanceof ScorpioError) throw err
    throw new ScorpioError('prefetch', `Prefetch failed: ${(err as Error).message}`, { cause: err })
  } finally {
    await store.close().catch(() => {})
  }
}
