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
  /** Last attributes answered: served for a detached inode the kernel still asks about. */
  lastAttr?: Attr
}

const MASK = 2 ** 48

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
    const root: Inode = { ino: ROOT_INO, path: '', nlookup: 1, detached: false }
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
      node = { ino, path, nlookup: 0, detached: false }
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
}
