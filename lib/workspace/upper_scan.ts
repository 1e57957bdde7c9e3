// Reads the upper layer (docs/upper-format.md) into a tree of what it says: files, symlinks,
// whiteouts, opaque and origin directories. Cost: one readdir per upper directory + one getfattr.
import { lstatSync, readdirSync, readFileSync, type Dirent, type Stats } from 'node:fs'
import { writeFileAtomic } from './state.ts'
import { join } from 'node:path'
import { LongPaths } from '../overlay/long_paths.ts'
import { formatOrigin, isInternalName, isWhiteoutStat, OPAQUE_MARKER, parseOrigin, UPPER_WORK_DIR, whiteoutTarget, type Origin } from '../overlay/upper_format.ts'
import { readOriginsRecursive } from './xattr.ts'

export interface UFile { kind: 'file'; abs: string; exec: boolean; size: number; origin?: Origin }
export interface ULink { kind: 'link'; abs: string }
export interface UWhiteout { kind: 'whiteout'; abs: string }
export interface UDir {
  kind: 'dir'
  abs: string
  opaque: boolean
  origin?: Origin
  children: Map<string, UNode>
  fingerprint?: UpperFingerprint
  /** On the root: the upper entries Git cannot store (FIFOs, sockets, device nodes), left out of
   *  status and commit; workspace-relative paths. */
  untracked?: Untracked[]
}

export interface Untracked {
  path: string
  kind: 'fifo' | 'socket' | 'block device' | 'character device'
}

/**
 * What the scan saw of every upper entry: absolute path and `stampOf` its lstat (inode, size, mode
 * with type, mtime, ctime). Any write, create, delete, rename, chmod or xattr change beneath the
 * upper dir changes the stamp of the entry or of its directory. `newest` is the latest mtime/ctime
 * seen and `scannedAt` the clock when the scan began; an entry changed within the file system's
 * timestamp granularity of the scan cannot be told apart from a later change, so a caller that
 * keeps answers by fingerprint must not keep them when `newest` is that close (see status_cache.ts).
 */
export interface UpperFingerprint {
  entries: [abs: string, stamp: string][]
  newest: number
  scannedAt: number
  /** Every timestamp seen was a whole second: the file system may keep no finer ones. */
  coarse: boolean
}

/** The stamp of an lstat result (what UpperFingerprint records for each entry). */
export function stampOf(st: Stats): string {
  return `${st.ino} ${st.size} ${st.mode} ${st.mtimeMs} ${st.ctimeMs}`
}

/** The stamp UpperFingerprint records for an upper dir that does not exist. */
export const MISSING_STAMP = 'missing'
export type UNode = UFile | ULink | UWhiteout | UDir

export interface ScanOptions {
  /**
   * A file where the origins read last time are kept with each entry's inode and ctime (setting or
   * removing an xattr changes the ctime). When every directory and empty file is unchanged, no
   * getfattr process is started at all.
   */
  originCache?: string
}

type CacheEntry = [ino: number, ctimeMs: number, origin: string | null]

function readCache(file: string | undefined): Map<string, CacheEntry> {
  if (!file) return new Map()
  try {
    return new Map(Object.entries(JSON.parse(readFileSync(file, 'utf8')) as Record<string, CacheEntry>))
  } catch {
    return new Map()
  }
}

/** Scans `upperDir`; a missing upper dir reads as empty. */
export async function scanUpper(upperDir: string, options: ScanOptions = {}): Promise<UDir> {
  const root: UDir = { kind: 'dir', abs: upperDir, opaque: false, children: new Map() }
  const nodes: (UDir | UFile)[] = [root]
  const seen: Seen = { stats: new Map(), entries: [], newest: 0, fine: false, untracked: [] }
  const scannedAt = Date.now()
  const long = new LongPaths()
  scanDir(root, '', nodes, seen, long)
  // The paths handed out stay usable for the command that reads them (see LongPaths.forget).
  long.forget()
  root.untracked = seen.untracked.map(([path, kind]) => ({ path, kind }))
  root.fingerprint = { entries: seen.entries, newest: seen.newest, scannedAt, coarse: !seen.fine }
  // Only directories and empty files can carry an origin (a metacopy is an empty file; filling it
  // replaces the file, xattr and all).
  const candidates = nodes.filter((n) => n.kind === 'dir' || n.size === 0)
  const cache = readCache(options.originCache)
  const stats = new Map<string, [number, number]>()
  let hit = options.originCache !== undefined
  for (const n of candidates) {
    const st = seen.stats.get(n.abs)
    if (!st) {
      hit = false
      continue
    }
    stats.set(n.abs, [st.ino, st.ctimeMs])
    const c = cache.get(n.abs)
    if (!c || c[0] !== st.ino || c[1] !== st.ctimeMs) hit = false
    else if (c[2]) n.origin = parseOrigin(c[2])
  }
  if (hit) return root
  const origins = await readOriginsRecursive(upperDir)
  for (const n of nodes) n.origin = origins.get(n.abs)
  if (options.originCache) {
    const out: Record<string, CacheEntry> = {}
    for (const n of candidates) {
      const st = stats.get(n.abs)
      if (st) out[n.abs] = [st[0], st[1], n.origin ? formatOrigin(n.origin) : null]
    }
    try {
      await writeFileAtomic(options.originCache, JSON.stringify(out))
    } catch {
      // a cache that cannot be written only costs the next command a getfattr
    }
  }
  return root
}

interface Seen {
  /** lstat of every directory and regular file, by absolute path. */
  stats: Map<string, Stats>
  entries: [string, string][]
  newest: number
  /** Some timestamp had a fraction of a second. */
  fine: boolean
  untracked: [path: string, kind: Untracked['kind']][]
}

function see(seen: Seen, abs: string, st: Stats): void {
  seen.entries.push([abs, stampOf(st)])
  if (st.mtimeMs > seen.newest) seen.newest = st.mtimeMs
  if (st.ctimeMs > seen.newest) seen.newest = st.ctimeMs
  if (st.mtimeMs % 1000 !== 0 || st.ctimeMs % 1000 !== 0) seen.fine = true
}

// Synchronous on purpose: a few hundred readdir/lstat calls finish far sooner than their async
// forms (each a thread-pool round trip), and the upper layer is O(changes) small.
// A path past PATH_MAX becomes a /proc/PID/fd/N/REST path (LongPaths): `abs` is always usable.
function scanDir(dir: UDir, rel: string, nodes: (UDir | UFile)[], seen: Seen, long: LongPaths): void {
  const isRoot = rel === ''
  let dirents: Dirent[]
  let dst: Stats
  try {
    dst = lstatSync(dir.abs)
    dirents = readdirSync(dir.abs, { withFileTypes: true })
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return void seen.entries.push([dir.abs, MISSING_STAMP])
    throw e
  }
  seen.stats.set(dir.abs, dst)
  see(seen, dir.abs, dst)
  const subdirs: [UDir, string][] = []
  const dotWh: string[] = []
  for (const d of dirents) {
    const name = d.name
    const abs = long.resolve(join(dir.abs, name))
    if (isRoot && name === UPPER_WORK_DIR) continue
    if (name === OPAQUE_MARKER) {
      dir.opaque = true
      continue
    }
    const target = whiteoutTarget(name)
    if (target !== undefined) {
      dotWh.push(target)
      continue
    }
    if (isInternalName(name)) continue
    if (d.isDirectory()) {
      const sub: UDir = { kind: 'dir', abs, opaque: false, children: new Map() }
      dir.children.set(name, sub)
      subdirs.push([sub, rel === '' ? name : `${rel}/${name}`])
      nodes.push(sub)
    } else if (d.isSymbolicLink()) {
      see(seen, abs, lstatSync(abs))
      dir.children.set(name, { kind: 'link', abs })
    } else if (d.isFile()) {
      const st = lstatSync(abs)
      seen.stats.set(abs, st)
      see(seen, abs, st)
      const file: UFile = { kind: 'file', abs, exec: (st.mode & 0o100) !== 0, size: st.size }
      dir.children.set(name, file)
      nodes.push(file)
    } else {
      const st = lstatSync(abs)
      see(seen, abs, st)
      if (isWhiteoutStat(st)) dir.children.set(name, { kind: 'whiteout', abs })
      else {
        const kind = st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : st.isBlockDevice() ? 'block device' : 'character device'
        seen.untracked.push([rel === '' ? name : `${rel}/${name}`, kind])
      }
    }
  }
  for (const target of dotWh) {
    if (!dir.children.has(target)) dir.children.set(target, { kind: 'whiteout', abs: join(dir.abs, '.wh.' + target) })
  }
  for (const [sub, subRel] of subdirs) scanDir(sub, subRel, nodes, seen, long)
}

/** The upper node at a relative path (components), or undefined. */
export function upperAt(root: UDir, parts: string[]): UNode | undefined {
  let node: UNode = root
  for (const p of parts) {
    if (node.kind !== 'dir') return undefined
    const next: UNode | undefined = node.children.get(p)
    if (!next) return undefined
    node = next
  }
  return node
}
