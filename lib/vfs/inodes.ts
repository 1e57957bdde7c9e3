// The inode table: kernel node ids ⇄ workspace paths, with lookup counts exactly as the kernel
// keeps them. A node id is a hash of the path (stable within a mount and across remounts), probed
// past ids still alive, so a path deleted and re-created while the kernel still holds the old
// inode gets a new id and a late FORGET of the old one can never drop the new one (the ENOENT
// Mega's client hit under Buck2).
import type { Attr } from '../fuse/raw_fs.ts'

export const ROOT_INO = 1

export interface Inode {
  ino: number
  path: string
  nlookup: number
  /** No longer reachable by its path (deleted, replaced, or the base moved under it). */
  detached: boolean
  /** Last attributes answered (see InodeTable.remember / lastAttr): kept whole only when they
   *  share nothing with other entries' ... */
  attr?: Attr
  /** ... otherwise as mode + size + the fields shared by many entries (owner, times, nlink). */
  mode?: number
  size?: number
  shared?: SharedAttr
}

/** The attribute fields most entries of a lower layer have in common (one object for thousands). */
type SharedAttr = Readonly<Omit<Required<Attr>, 'ino' | 'mode' | 'size' | 'blocks' | 'flags'>>
const SHARED_FIELDS = ['nlink', 'uid', 'gid', 'rdev', 'blksize', 'atime', 'atimensec', 'mtime', 'mtimensec', 'ctime', 'ctimensec'] as const
/** Recently used shared parts (lower files and lower directories differ in nlink). */
const SHARED_KEPT = 4

const MASK = 2 ** 48

/** All fields set at creation, so every inode has one shape with its fields inside the object. */
function newInode(ino: number, path: string): Inode {
  return { ino, path, nlookup: 0, detached: false, attr: undefined, mode: 0, size: 0, shared: undefined }
}

/** 48 bits of a two-lane multiplicative hash of the path's UTF-16 units: the same id for the same
 *  path in every process, at a fraction of a SHA-1's cost (collisions are probed past in ref()). */
export function pathIno(path: string): number {
  if (path === '') return ROOT_INO
  let h1 = 0xdeadbeef, h2 = 0x41c6ce57
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  const n = (h2 & 0xffff) * 0x1_0000_0000 + (h1 >>> 0)
  return n < 2 ? n + 2 : n
}

export function parentPath(path: string): string {
  const i = path.lastIndexOf('/')
  return i < 0 ? '' : path.slice(0, i)
}

export class InodeTable {
  readonly byIno = new Map<number, Inode>()
  readonly byPath = new Map<string, Inode>()

  constructor() {
    const root = newInode(ROOT_INO, '')
    root.nlookup = 1
    this.byIno.set(ROOT_INO, root)
    this.byPath.set('', root)
  }

  get(ino: number): Inode | undefined {
    return this.byIno.get(ino)
  }

  /** The id a path would get now, without registering it (READDIR's d_ino). */
  peekIno(path: string): number {
    return this.byPath.get(path)?.ino ?? pathIno(path)
  }

  /** Registers one more kernel reference to the entry at `path`. Synchronous on purpose. */
  ref(path: string): Inode {
    let node = this.byPath.get(path)
    if (!node) {
      let ino = pathIno(path)
      while (this.byIno.has(ino)) ino = ino + 1 >= MASK ? 2 : ino + 1
      node = newInode(ino, path)
      this.byIno.set(ino, node)
      this.byPath.set(path, node)
    }
    node.nlookup++
    return node
  }

  forget(ino: number, n: number): void {
    if (ino === ROOT_INO) return
    const node = this.byIno.get(ino)
    if (!node) return
    node.nlookup -= n
    if (node.nlookup > 0) return
    this.byIno.delete(ino)
    if (this.byPath.get(node.path) === node) this.byPath.delete(node.path)
  }

  /** The entry at `path` is gone (unlink, rmdir, replaced by a rename, base moved). */
  detach(path: string): Inode | undefined {
    const node = this.byPath.get(path)
    if (!node || node.ino === ROOT_INO) return undefined
    this.byPath.delete(path)
    node.detached = true
    return node
  }

  /** Moves `from` and everything beneath it to `to` (after a rename). */
  move(from: string, to: string): void {
    const prefix = from + '/'
    const moved: Inode[] = []
    for (const [p, node] of this.byPath) if (p === from || p.startsWith(prefix)) moved.push(node)
    for (const node of moved) this.byPath.delete(node.path)
    for (const node of moved) {
      node.path = to + node.path.slice(from.length)
      this.byPath.set(node.path, node)
    }
  }

  /** Swaps two subtrees (RENAME_EXCHANGE). */
  exchange(a: string, b: string): void {
    const tmp = `\0exchange\0${a}`
    this.move(a, tmp)
    this.move(b, a)
    this.move(tmp, b)
  }

  get size(): number {
    return this.byIno.size
  }

  private readonly shared: SharedAttr[] = []

  /** Keeps `attr` as the last attributes answered for `node` (served while it is detached). A
   *  100,000-entry walk kept one 16-field object per inode (~50 MB); lower entries differ only in
   *  mode and size, so those two are kept and the rest is one object shared by all of them. */
  remember(node: Inode, attr: Attr): void {
    const size = attr.size ?? 0
    const shared = attr.flags || (attr.blocks ?? Math.ceil(size / 512)) !== Math.ceil(size / 512) ? undefined : this.sharedPart(attr)
    if (shared) {
      node.attr = undefined
      node.mode = attr.mode
      node.size = size
      node.shared = shared
    } else {
      node.attr = attr
      node.shared = undefined
    }
  }

  /** The last attributes remembered for `node`, if any. */
  lastAttr(node: Inode): Attr | undefined {
    if (node.attr) return node.attr
    const sh = node.shared
    if (!sh) return undefined
    const size = node.size ?? 0
    return { ino: node.ino, mode: node.mode ?? 0, size, blocks: Math.ceil(size / 512), ...sh }
  }

  private sharedPart(attr: Attr): SharedAttr | undefined {
    const same = (s: SharedAttr) => SHARED_FIELDS.every((k) => s[k] === (attr[k] ?? 0))
    const i = this.shared.findIndex(same)
    if (i === 0) return this.shared[0]
    if (i > 0) {
      const [s] = this.shared.splice(i, 1)
      this.shared.unshift(s)
      return s
    }
    const s = Object.freeze(Object.fromEntries(SHARED_FIELDS.map((k) => [k, attr[k] ?? 0]))) as SharedAttr
    this.shared.unshift(s)
    if (this.shared.length > SHARED_KEPT) this.shared.pop()
    return s
  }
}
