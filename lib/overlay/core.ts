// Path resolution over upper ∪ (CL ∪ lower): which layer answers for a path, its attributes, and a
// directory's merged listing. Mutations live in overlay.ts. Paths are workspace-relative, '/'
// separated, '' for the root.
import { constants as C, lstatSync, promises as fsp, type Stats } from 'node:fs'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import type { LowerEntry, LowerView } from '../lower/types.ts'
import { fsError, isErrno } from './errors.ts'
import { loadOrigins } from './xattr.ts'
import { LongPaths } from './long_paths.ts'
import { isInternalName, isWhiteoutStat, OPAQUE_MARKER, UPPER_WORK_DIR, WHITEOUT_PREFIX, whiteoutName, whiteoutTarget, type Origin } from './upper_format.ts'

/** lru-cache's get() makes an options object per call unless it is given one (a walk calls it
 *  for every entry): a shared one, never read back. */
const GET = {}

export type NodeType = 'file' | 'dir' | 'symlink' | 'other'

export interface OvNode {
  path: string
  type: NodeType
  /** Present in the upper layer (materialized or metacopy). */
  upper: boolean
  /** For a metacopy file: the blob it stands for. For an upper dir: its origin tree, if any. */
  origin?: Origin
  /** Lower-only entries: the entry. Upper directories: the merged directory beneath, if any. Metacopy: the blob. */
  lower?: LowerEntry
  opaque?: boolean
}

export interface Attr {
  mode: number
  size: number
  blocks: number
  nlink: number
  uid: number
  gid: number
  rdev: number
  blksize: number
  atimeMs: number
  mtimeMs: number
  ctimeMs: number
  /** Upper entries: the upper file's inode number (all names of a hard-linked file share it). */
  upperIno?: number
}

export interface DirEntry {
  name: string
  type: NodeType
}

interface DirState {
  upper: boolean
  opaque: boolean
  below?: LowerEntry
}

export interface OverlayOptions {
  upperDir: string
  lower: LowerView
  /** Owner reported for lower entries (default: this process). */
  uid?: number
  gid?: number
  log?: (line: string) => void
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? '' : path.slice(0, i)
}
export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}
export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`
}

function kindType(e: LowerEntry): NodeType {
  return e.kind === 'submodule' ? 'dir' : e.kind
}
export function statType(st: Stats): NodeType {
  return st.isDirectory() ? 'dir' : st.isFile() ? 'file' : st.isSymbolicLink() ? 'symlink' : 'other'
}
const TYPE_BITS: Record<NodeType, number> = { file: C.S_IFREG, dir: C.S_IFDIR, symlink: C.S_IFLNK, other: 0 }

// Upper-layer metadata calls are synchronous: the upper is a local directory where an lstat or an
// open takes microseconds, while a trip through the runtime's thread pool costs tens of them per
// call (creating files in a workspace ran at ~1,000/s). Bulk data and fsync stay asynchronous.
export function lstatOrUndef(p: string): Stats | undefined {
  try {
    return lstatSync(p, { throwIfNoEntry: false })
  } catch (e) {
    if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined
    throw e
  }
}

export class OverlayCore {
  readonly upperDir: string
  readonly workDir: string
  lower: LowerView
  readonly uid: number
  readonly gid: number
  protected readonly log: (line: string) => void
  /** Every origin xattr in the upper, by path; this process is the only writer while mounted. */
  origins = new Map<string, Origin>()
  /** Directory states by path: a cache (rebuilt by lookup on a miss), bounded so that a walk of a
   *  big tree does not keep one entry per directory. */
  private dirs = new LRUCache<string, DirState>({ max: 2048 })

  constructor(options: OverlayOptions) {
    this.upperDir = options.upperDir
    this.workDir = join(options.upperDir, UPPER_WORK_DIR)
    this.lower = options.lower
    this.uid = options.uid ?? process.getuid?.() ?? 0
    this.gid = options.gid ?? process.getgid?.() ?? 0
    this.log = options.log ?? (() => {})
  }

  /** Creates the upper and work dirs if needed and reads the origins recorded in the upper. */
  async init(): Promise<void> {
    await fsp.mkdir(this.workDir, { recursive: true })
    // Leftovers of a copy-up interrupted by a crash: never visible, safe to drop.
    for (const name of await fsp.readdir(this.workDir)) await fsp.rm(join(this.workDir, name), { recursive: true, force: true })
    this.origins = await loadOrigins(this.upperDir)
  }

  /** Deep upper directories kept open: how a path past PATH_MAX is reached (long_paths.ts). */
  protected readonly longPaths = new LongPaths()

  upperPath(path: string): string {
    return path === '' ? this.upperDir : this.longPaths.resolve(join(this.upperDir, path))
  }

  /** The upper entry's inode number at `path`, if it is in the upper. */
  upperIno(path: string): number | undefined {
    return lstatOrUndef(this.upperPath(path))?.ino
  }

  /** Forgets cached directory states at `path` and beneath (after a structural change). */
  protected invalidate(path: string): void {
    this.longPaths.forget(path === '' ? this.upperDir : join(this.upperDir, path))
    if (path === '') return this.dirs.clear()
    const prefix = path + '/'
    const gone = [...this.dirs.keys()].filter((k) => k === path || k.startsWith(prefix))
    for (const k of gone) this.dirs.delete(k)
  }

  protected async dirState(path: string): Promise<DirState> {
    const cached = this.dirs.get(path, GET)
    if (cached) return cached
    let state: DirState
    if (path === '') {
      const opaque = lstatOrUndef(join(this.upperDir, OPAQUE_MARKER)) !== undefined
      state = { upper: true, opaque, below: opaque ? undefined : this.lower.root }
    } else {
      const node = await this.lookup(path)
      if (!node) throw fsError('ENOENT', path)
      if (node.type !== 'dir') throw fsError('ENOTDIR', path)
      state = { upper: node.upper, opaque: (node.opaque ?? false) && !node.origin, below: node.lower }
    }
    this.dirs.set(path, state)
    return state
  }

  protected markUpperDir(path: string): void {
    const s = this.dirs.get(path, GET)
    if (s) s.upper = true
  }

  /** The lower/CL entry beneath `path` that upper entries must hide (ignoring whiteouts). */
  protected async belowOf(path: string): Promise<LowerEntry | undefined> {
    if (path === '') return this.lower.root
    const parent = await this.dirState(parentOf(path))
    if (parent.opaque || !parent.below) return undefined
    return (await this.listLower(parentOf(path), parent.below)).get(baseName(path))
  }

  /**
   * What `lookup` gives, when everything it needs is in memory: the parent's directory state and,
   * beneath a lower-only parent, its lower listing. `null`: no entry there; `undefined`: not known
   * without I/O (ask `lookup`). A walk answers most of its entries this way, without a promise.
   */
  lookupCached(path: string): OvNode | null | undefined {
    if (path === '') {
      const s = this.dirs.get('', GET)
      return s && { path, type: 'dir', upper: true, lower: s.below, opaque: s.opaque }
    }
    const i = path.lastIndexOf('/')
    return i < 0 ? this.lookupCachedIn('', path, path) : this.lookupCachedIn(path.slice(0, i), path.slice(i + 1), path)
  }

  /** `lookupCached` of `path` (not the root), given as its directory and name (a listing passes
   *  the same `dir` string for every entry: its cache key is hashed once). */
  lookupCachedIn(dir: string, name: string, path: string): OvNode | null | undefined {
    if (isInternalName(name)) return null
    const parent = this.dirStateCached(dir)
    // An upper parent needs a look at the upper dir.
    if (!parent || parent.upper) return undefined
    if (parent.opaque || !parent.below) return null
    const list = this.lower.listCached?.(parent.below)
    if (!list) return undefined
    const below = list.get(name)
    return below ? { path, type: kindType(below), upper: false, lower: below } : null
  }

  /** `dirState` when known without I/O (cached, or made from a cached lookup), else undefined. */
  private dirStateCached(path: string): DirState | undefined {
    const cached = this.dirs.get(path, GET)
    if (cached || path === '') return cached
    const node = this.lookupCached(path)
    if (!node || node.type !== 'dir') return undefined
    const state: DirState = { upper: node.upper, opaque: (node.opaque ?? false) && !node.origin, below: node.lower }
    this.dirs.set(path, state)
    return state
  }

  async lookup(path: string): Promise<OvNode | undefined> {
    const known = this.lookupCached(path)
    return known !== undefined ? (known ?? undefined) : this.lookupFromLayers(path)
  }

  /** `lookup` without the in-memory shortcut: what the shortcut must always agree with. */
  async lookupFromLayers(path: string): Promise<OvNode | undefined> {
    if (path === '') {
      const s = await this.dirState('')
      return { path, type: 'dir', upper: true, lower: s.below, opaque: s.opaque }
    }
    const name = baseName(path)
    if (isInternalName(name)) return undefined
    let parent: DirState
    try {
      parent = await this.dirState(parentOf(path))
    } catch (e) {
      if (isErrno(e, 'ENOENT', 'ENOTDIR')) return undefined
      throw e
    }
    const below = parent.opaque || !parent.below ? undefined : (await this.listLower(parentOf(path), parent.below)).get(name)
    if (parent.upper) {
      const up = this.upperPath(path)
      const st = lstatOrUndef(up)
      if (st) {
        if (isWhiteoutStat(st)) return undefined
        const type = statType(st)
        const origin = this.origins.get(path)
        if (type === 'dir') {
          const opaque = lstatOrUndef(join(up, OPAQUE_MARKER)) !== undefined
          let lower: LowerEntry | undefined
          if (origin) lower = this.lower.fromGit(origin.mode, origin.oid)
          else if (!opaque && below?.kind === 'dir') lower = below
          return { path, type, upper: true, origin, lower, opaque }
        }
        if (type === 'file' && origin) return { path, type, upper: true, origin, lower: this.lower.fromGit(origin.mode, origin.oid) }
        return { path, type, upper: true }
      }
      const wh = whiteoutName(name)
      if (below && wh && lstatOrUndef(this.upperPath(joinPath(parentOf(path), wh)))) return undefined
    }
    if (!below) return undefined
    return { path, type: kindType(below), upper: false, lower: below }
  }

  async lookupOrThrow(path: string): Promise<OvNode> {
    const n = await this.lookup(path)
    if (!n) throw fsError('ENOENT', path)
    return n
  }

  async getattr(node: OvNode): Promise<Attr> {
    if (node.upper) {
      const st = lstatSync(this.upperPath(node.path))
      let size = st.size
      let blocks = st.blocks
      if (node.origin && node.type === 'file' && node.lower) {
        size = await this.lowerSize(node.path, node.lower)
        blocks = Math.ceil(size / 512)
      }
      return {
        mode: st.mode, size, blocks, nlink: st.nlink, uid: st.uid, gid: st.gid, rdev: st.rdev,
        blksize: 4096, atimeMs: st.atimeMs, mtimeMs: st.mtimeMs, ctimeMs: st.ctimeMs, upperIno: st.ino,
      }
    }
    return this.lowerAttr(node, node.type === 'dir' ? 4096 : await this.lowerSize(node.path, node.lower!))
  }

  /** What `getattr` gives for a lower node whose size is known without I/O, else undefined. */
  attrCached(node: OvNode): Attr | undefined {
    if (node.upper) return undefined
    if (node.type === 'dir') return this.lowerAttr(node, 4096)
    const size = this.lower.knownSize?.(node.lower!)
    return size === undefined ? undefined : this.lowerAttr(node, size)
  }

  private lowerAttr(node: OvNode, size: number): Attr {
    const t = this.lower.mtimeMs
    return {
      mode: TYPE_BITS[node.type] | node.lower!.perm, size, blocks: Math.ceil(size / 512), nlink: node.type === 'dir' ? 2 : 1,
      uid: this.uid, gid: this.gid, rdev: 0, blksize: 4096, atimeMs: t, mtimeMs: t, ctimeMs: t,
    }
  }

  protected async lowerSize(path: string, e: LowerEntry): Promise<number> {
    try {
      return await this.lower.size(e)
    } catch (err) {
      throw this.lowerFailure('size of', path, err)
    }
  }

  /** Contents of a lower file (or symlink target); a store failure becomes EIO with a log line. */
  async readLower(path: string, e: LowerEntry): Promise<Uint8Array> {
    try {
      return await this.lower.read(e)
    } catch (err) {
      throw this.lowerFailure('contents of', path, err)
    }
  }

  /** A lower directory's entries; a store failure (its tree could not come) becomes EIO with a log line. */
  protected async listLower(path: string, e: LowerEntry): Promise<Map<string, LowerEntry>> {
    try {
      return await this.lower.list(e)
    } catch (err) {
      const errno = (err as { errno?: unknown })?.errno
      if (typeof errno === 'string' && errno !== 'EIO') throw err
      throw this.lowerFailure('the listing of', path, err)
    }
  }

  /** Last log line of a lower failure and when: the kernel retries a failed read (readahead, then
   *  the read itself), and one cause is worth one line, not one per retry. */
  private lastFailure = { line: '', at: 0 }

  private lowerFailure(what: string, path: string, err: unknown): Error {
    const msg = err instanceof Error ? err.message : String(err)
    const line = `scorpio: cannot get ${what} /${path} (${e_oid(err)}): ${msg}`
    const now = Date.now()
    if (line !== this.lastFailure.line || now - this.lastFailure.at > 5000) this.log(line)
    this.lastFailure = { line, at: now }
    return fsError('EIO', `${what} ${path}: ${msg}`)
  }

  /** What `readdir` gives for a lower-only directory whose listing is in memory, else undefined. */
  readdirCached(path: string): DirEntry[] | undefined {
    const node = this.lookupCached(path)
    if (!node || node.upper || node.type !== 'dir') return undefined
    if (!node.lower || node.lower.kind !== 'dir') return []
    const list = this.lower.listCached?.(node.lower)
    if (!list) return undefined
    const out: DirEntry[] = []
    for (const [name, e] of list) out.push({ name, type: kindType(e) })
    return out
  }

  async readdir(path: string): Promise<DirEntry[]> {
    return this.readdirCached(path) ?? this.readdirFromLayers(path)
  }

  /** `readdir` without the in-memory shortcut: what the shortcut must always agree with. */
  async readdirFromLayers(path: string): Promise<DirEntry[]> {
    const node = await this.lookupOrThrow(path)
    if (node.type !== 'dir') throw fsError('ENOTDIR', path)
    const out: DirEntry[] = []
    if (!node.upper) {
      // Lower only: the listing as it is (nothing to merge or hide).
      if (node.lower?.kind === 'dir') for (const [name, e] of await this.listLower(path, node.lower)) out.push({ name, type: kindType(e) })
      return out
    }
    const seen = new Set<string>()
    const hidden = new Set<string>()
    if (node.upper) {
      const up = this.upperPath(path)
      for (const d of await fsp.readdir(up, { withFileTypes: true })) {
        const wt = whiteoutTarget(d.name)
        if (wt !== undefined) {
          hidden.add(wt)
          continue
        }
        if (isInternalName(d.name)) continue
        if (d.isCharacterDevice()) {
          const st = lstatOrUndef(join(up, d.name))
          if (st && isWhiteoutStat(st)) {
            hidden.add(d.name)
            continue
          }
        }
        seen.add(d.name)
        const type: NodeType = d.isDirectory() ? 'dir' : d.isFile() ? 'file' : d.isSymbolicLink() ? 'symlink' : 'other'
        out.push({ name: d.name, type })
      }
    }
    if (node.lower && node.lower.kind === 'dir' && !(node.opaque && !node.origin)) {
      for (const [name, e] of await this.listLower(path, node.lower)) {
        if (seen.has(name) || hidden.has(name)) continue
        out.push({ name, type: kindType(e) })
      }
    }
    return out
  }

  async readlink(path: string): Promise<string> {
    const node = await this.lookupOrThrow(path)
    if (node.type !== 'symlink') throw fsError('EINVAL', path)
    if (node.upper) return fsp.readlink(this.upperPath(path))
    return new TextDecoder().decode(await this.readLower(path, node.lower!))
  }
}

function e_oid(err: unknown): string {
  const c = (err as { code?: unknown })?.code
  return typeof c === 'string' ? c : 'error'
}
