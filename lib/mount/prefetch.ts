// `scorpio prefetch`: fetches the contents of the lower files under some paths (relative to the
// current directory inside a mount) in large parallel batches. The CLI turns its arguments into
// workspace paths; the mount process gathers and fetches them (see prefetchIn), or the CLI does on
// the shared on-disk store when no mount process answers.
import { promises as fsp, realpathSync } from 'node:fs'
import { isAbsolute, relative, resolve, sep } from 'node:path'
import { ScorpioError, UsageError } from '../errors.ts'
import { openLower, type LowerEntry, type LowerView } from '../lower/mod.ts'
import { findWorkspaceForPath, type MountRecord } from '../registry/mod.ts'
import { openRemote } from '../remote/mod.ts'
import { openStore, type Store } from '../store/mod.ts'
import type { FetchProgress, Oid } from '../store/types.ts'
import { callControl, NoControlServer, loadWorkspaceState } from '../workspace/mod.ts'
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

/** What to prefetch, in workspace paths: `files` listed (a profile), whole subtrees under `dirs`
 *  ('' is the root), and files under a `base` whose path below it matches a gitignore-style `glob`. */
export interface PrefetchRequest {
  files?: string[]
  dirs?: string[]
  globs?: { base: string; glob: string }[]
}

/** A request as it came over the control socket, checked for shape. */
export function prefetchRequest(a: Record<string, unknown>): PrefetchRequest {
  const strings = (v: unknown, what: string): string[] | undefined => {
    if (v === undefined) return undefined
    if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw new UsageError(`prefetch: ${what} must be a list of paths`)
    return v as string[]
  }
  if (a.globs !== undefined && !Array.isArray(a.globs)) throw new UsageError('prefetch: globs must be a list')
  const globs = a.globs === undefined ? undefined : (a.globs as unknown[]).map((g) => {
    const { base, glob } = (g ?? {}) as { base?: unknown; glob?: unknown }
    if (typeof base !== 'string' || typeof glob !== 'string') throw new UsageError('prefetch: each glob needs a base and a pattern')
    return { base, glob }
  })
  return { files: strings(a.files, 'files'), dirs: strings(a.dirs, 'dirs'), globs }
}

/** The answer of `fetchRequested`: counts, or the `dirs` the lower layer does not have (nothing was
 *  fetched then: the caller decides whether they are local files or mistakes). */
export type PrefetchOutcome = { files: number; bytes: number; fetched: number } | { missing: string[] }

/**
 * Gathers the lower ids `req` names and fetches the missing ones in large batches. Runs where the
 * lower view is: in the mount process (its trees and connection are warm) or in the CLI.
 */
export async function fetchRequested(
  store: Store,
  lower: LowerView,
  req: PrefetchRequest,
  onProgress?: (done: FetchProgress & { total: number }) => void,
): Promise<PrefetchOutcome> {
  const wanted = new Map<string, Oid>()
  const take = (path: string, e: LowerEntry): void => {
    if (e.oid) wanted.set(path, e.oid)
  }
  for (const p of req.files ?? []) {
    const e = await lower.lookupPath(p)
    if (e?.oid && (e.kind === 'file' || e.kind === 'symlink')) wanted.set(p, e.oid)
  }
  const missing: string[] = []
  for (const dir of req.dirs ?? []) if (!(await walk(lower, dir, take))) missing.push(dir)
  if (missing.length) return { missing }
  for (const { base, glob } of req.globs ?? []) {
    const match = compileGlob(glob)
    const prefix = base ? base + '/' : ''
    await walk(lower, base, (path, e) => {
      if (match(path.slice(prefix.length))) take(path, e)
    })
  }
  const oids = [...new Set(wanted.values())]
  const total = oids.length
  const progress = await store.prefetch(oids, { onProgress: onProgress ? (p) => onProgress({ ...p, total }) : undefined })
  let bytes = 0
  if (oids.length) for (const s of (await store.blobSizes(oids)).values()) bytes += s
  return { files: wanted.size, bytes, fetched: progress.objects }
}

/** Fetches a profile's files in the background (a CI job's known reads arrive in a few batches);
 *  reads meanwhile join the fetches in flight. A failure only costs the reads their own fetches. */
export function startProfile(store: Store, lower: LowerView, paths: string[], log?: (line: string) => void): void {
  const say = log ?? ((l: string) => void process.stderr.write(`${l}\n`))
  const started = Date.now()
  fetchRequested(store, lower, { files: paths }).then(
    (r) => 'files' in r && say(`scorpio: profile prefetch: ${r.fetched} of ${r.files} files fetched in ${((Date.now() - started) / 1000).toFixed(1)} s`),
    (err) => say(`scorpio: profile prefetch failed (files are fetched as they are read): ${(err as Error).message}`),
  )
}

export async function prefetchPaths(options: PrefetchOptions = {}): Promise<PrefetchResult> {
  const started = Date.now()
  const cwd = options.cwd ?? process.cwd()
  const rec = options.workspace ?? findWorkspaceForPath(cwd)
  if (!rec) throw new ScorpioError('not-in-workspace', `"${cwd}" is not inside a scorpio mount; cd into a workspace (see scorpio list)`)
  const root = rec.mountpoint
  let here: string
  try {
    here = realpathSync(cwd)
  } catch {
    here = resolve(cwd)
  }
  const hereRel = toWorkspacePath(root, here, cwd)
  const req: PrefetchRequest = {}
  const given = new Map<string, string>()
  if (options.paths) req.files = options.paths
  else if (!options.patterns?.length) req.dirs = [hereRel]
  for (const pattern of options.patterns ?? []) {
    if (hasGlob(pattern)) (req.globs ??= []).push({ base: hereRel, glob: pattern })
    else {
      const rel = toWorkspacePath(root, resolve(here, pattern), pattern)
      ;(req.dirs ??= []).push(rel)
      given.set(rel, pattern)
    }
  }
  const finish = (o: { files: number; bytes: number; fetched: number }): PrefetchResult => ({ ...o, seconds: (Date.now() - started) / 1000 })
  for (;;) {
    let outcome: PrefetchOutcome
    try {
      outcome = await prefetchIn(rec, req, options.onProgress)
    } catch (err) {
      if (err instanceof ScorpioError) throw err
      throw new ScorpioError('prefetch', `Prefetch failed: ${(err as Error).message}`, { cause: err })
    }
    if (!('missing' in outcome)) return finish(outcome)
    // Not in the lower layer: a file of the upper layer only (nothing to fetch) or a mistake.
    for (const dir of outcome.missing) {
      const pattern = given.get(dir) ?? dir
      const local = await fsp.lstat(resolve(here, pattern)).then(() => true, () => false)
      if (!local) throw new UsageError(`No such file or directory: "${pattern}"`)
    }
    req.dirs = req.dirs!.filter((d) => !outcome.missing.includes(d))
  }
}

/**
 * Runs `req` in the mount process when it listens on its control socket (its trees, sizes and
 * server connection are already there: a small prefetch then costs little more than its one
 * fetch), else here on the shared on-disk store. A progress bar needs the fetch here.
 */
async function prefetchIn(rec: MountRecord, req: PrefetchRequest, onProgress?: PrefetchOptions['onProgress']): Promise<PrefetchOutcome> {
  if (!onProgress) {
    try {
      return (await callControl(rec.state, { op: 'prefetch', args: req as Record<string, unknown> })) as PrefetchOutcome
    } catch (err) {
      // An older mount process without the request, or none listening: do it here.
      if (!(err instanceof NoControlServer) && (err as ScorpioError).code !== 'unknown-op') throw err
    }
  }
  const state = await loadWorkspaceState(rec.state)
  const remote = await openRemote(state.remote.url, { mega: state.remote.mega, path: state.remote.path })
  const store = await openStore({ remote, cacheDir: state.cacheDir })
  try {
    let lower: LowerView = await openLower(store, state.base, { path: state.remote.path })
    if (state.cl) lower = await openClLayer(lower, state.cl, remote)
    return await fetchRequested(store, lower, req, onProgress)
  } finally {
    await store.close().catch(() => {})
  }
}
