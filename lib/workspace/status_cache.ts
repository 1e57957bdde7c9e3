// The last status answer, kept in `<state>/status-cache.json` with what it was computed from: the
// base (and --path / CL layer) and the lstat stamp of every upper entry (upper_scan.ts). Checking it
// costs one lstat per upper entry, and no readdir: a directory whose stamp is unchanged still has the
// same entries (creating, removing or renaming an entry changes its mtime; an xattr its ctime). When
// everything matches, `scorpio status` needs no tree reads, no hashing, no object store. Like Git's
// index, an entry changed so recently that a further change could keep the same timestamps makes
// the answer "racy": it is then not kept, and the next status computes it again.
import { lstatSync, readFileSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { WorkspaceState } from './state.ts'
import { MISSING_STAMP, stampOf, type UDir, type Untracked } from './upper_scan.ts'
import type { ChangeStatus } from './changes.ts'

export const STATUS_CACHE = 'status-cache.json'

/** Changes within this many ms of the scan are too fresh to be told apart by timestamps. */
export const RACY_MS = 100
/** The same on a file system that keeps whole seconds only (FAT keeps 2 s). */
export const RACY_COARSE_MS = 2100

export interface CachedStatus {
  base: string
  changes: { path: string; status: ChangeStatus }[]
  /** Entries Git cannot store, left out of the changes (upper_scan.ts). */
  untracked?: Untracked[]
}

interface CacheFile {
  version: 2
  key: string
  entries: [abs: string, stamp: string][]
  result: CachedStatus
}

/**
 * Everything besides the upper layer that a status answer depends on; undefined when that cannot
 * be stamped (a CL layer can change beneath the upper layer without the base changing).
 */
export function statusKey(state: WorkspaceState): string | undefined {
  if (state.cl) return undefined
  return JSON.stringify([state.base, state.remote.path ?? '', state.upperDir])
}

function stampNow(abs: string): string {
  try {
    return stampOf(lstatSync(abs))
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return MISSING_STAMP
    return 'unreadable'
  }
}

/** The kept answer when it was computed for `key` and no upper entry has changed since, else undefined. */
export function readStatusCache(stateDir: string, key: string | undefined): CachedStatus | undefined {
  if (key === undefined) return undefined
  let file: CacheFile
  try {
    file = JSON.parse(readFileSync(join(stateDir, STATUS_CACHE), 'utf8')) as CacheFile
  } catch {
    return undefined
  }
  if (file?.version !== 2 || file.key !== key || !Array.isArray(file.entries) || file.entries.length === 0) return undefined
  const r = file.result
  if (typeof r?.base !== 'string' || !Array.isArray(r.changes)) return undefined
  for (const [abs, stamp] of file.entries) if (stampNow(abs) !== stamp) return undefined
  return r
}

/** Keeps `result` (computed from the scan `upper`) for the next status, unless the upper layer changed too recently to trust it. */
export async function writeStatusCache(stateDir: string, key: string | undefined, upper: UDir, result: CachedStatus): Promise<void> {
  const path = join(stateDir, STATUS_CACHE)
  const fp = upper.fingerprint
  if (key === undefined || !fp || fp.newest >= fp.scannedAt - (fp.coarse ? RACY_COARSE_MS : RACY_MS)) {
    await fsp.rm(path, { force: true }).catch(() => {})
    return
  }
  const file: CacheFile = { version: 2, key, entries: fp.entries, result }
  // A cache: no fsync. A torn or stale file fails the key/stamp check and is recomputed.
  const tmp = `${path}.${process.pid}.tmp`
  try {
    await fsp.writeFile(tmp, JSON.stringify(file))
    await fsp.rename(tmp, path)
  } catch {
    await fsp.rm(tmp, { force: true }).catch(() => {})
  }
}
