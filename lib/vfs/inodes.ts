// The inode table: kernel node ids ⇄ workspace paths, with lookup counts exactly as the kernel
// keeps them. A node id is a hash of the path (stable within a mount and across remounts), probed
// past ids still alive, so a path deleted and re-created while the kernel still holds the old
// inode gets a new id and a late FORGET of the old one can never drop the new one (the ENOENT
// Mega's client hit under Buck2).
//
// A walk of a big tree leaves the kernel holding every entry (192,736 for a 100,000-file repo), so
// the table is compact: one record per entry in typed arrays (id, parent record, lookup count,
// flags), its name as the only string, and two open-addressing indexes (id → record, parent record
// + name → record). A path is the chain of names up to the root; a rename re-parents one record.
// Records the kernel forgot stay while records beneath them need them as parents.
//
// Hard links: every name of one file must be one kernel inode (one id), or a chmod through one name
// is not seen through the other. The first name's record holds the id; each other name is an alias
// record pointing at it. Removing the name that holds the id hands it to an alias.
import type { Attr } from '../fuse/raw_fs.ts'
import { AttrMemory } from './attr_memory.ts'
import { grown, inoHash, insert, nameHash, remove } from './_slots.ts'

export const ROOT_INO = 1

const MASK = 2 ** 48
/** Record flags. */
const USED = 1
/** The kernel holds the id (nlookup > 0; the root always). */
const LIVE = 2
/** No longer reachable by its path (deleted, replaced, or the base moved under it). */
const DETACHED = 4
/** Another name (hard link) of a live inode: `inos` holds that inode's id, whose record counts the
 *  kernel's lookups. Held while the inode lives, never in the id index. */
const ALIAS = 8
const ROOT = 0

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
  private cap = 0
  /** Slots ever handed out; freed ones are chained through `parents` from `freeHead`. */
  private used = 0
  private freeHead = -1
  private recordCount = 0
  private inos = new Float64Array(0)
  private parents = new Int32Array(0)
  private nlookups = new Float64Array(0)
  private flags = new Uint8Array(0)
  /** Records whose parent is this one, detached ones included. */
  private kids = new Int32Array(0)
  /** nameHash(parent, name) of each record. */
  private hashes = new Uint32Array(0)
  private names: string[] = []
  /** id → slot + 1 of the live records (0: empty). */
  private byIno: Int32Array = new Int32Array(1024)
  private inoCount = 0
  /** (parent, name) → slot + 1 of the records not detached. */
  private byName: Int32Array = new Int32Array(1024)
  private nameCount = 0
  private readonly attrs = new AttrMemory()
  /** Alias records of each id that has some (hard links: few). */
  private aliases = new Map<number, number[]>()
  /** The directory last resolved by path (a READDIRPLUS refs all its children in a row). */
  private lastDir = ''
  private lastDirSlot = -1

  constructor() {
    this.grow(1024)
    const root = this.alloc()
    this.inos[root] = ROOT_INO
    this.parents[root] = -1
    this.nlookups[root] = 1
    this.flags[root] = USED | LIVE
    this.names[root] = ''
    this.inoInsert(root)
  }

  /** Kernel-held inodes (the root included). */
  get size(): number {
    return this.inoCount
  }

  /** Records held (live inodes and the directories above them; for tests). */
  get records(): number {
    return this.recordCount
  }

  has(ino: number): boolean {
    return this.slotOf(ino) >= 0
  }

  /** The path of a live inode (its last path if detached), or undefined for an unknown id. */
  path(ino: number): string | undefined {
    const s = this.slotOf(ino)
    return s < 0 ? undefined : this.pathOf(s)
  }

  /** True when the inode (or a directory above it) is no longer reachable by its path. */
  isDetached(ino: number): boolean {
    for (let s = this.slotOf(ino); s > ROOT; s = this.parents[s]) if (this.flags[s] & DETACHED) return true
    return false
  }

  nlookup(ino: number): number {
    const s = this.slotOf(ino)
    return s < 0 ? 0 : this.nlookups[s]
  }

  /** The live inode at `path`, if the kernel holds one. */
  lookup(path: string): number | undefined {
    const s = this.find(path)
    return s >= 0 && this.flags[s] & (LIVE | ALIAS) ? this.inos[s] : undefined
  }

  /** The id a path would get now, without registering it (READDIR's d_ino). */
  peekIno(path: string): number {
    return this.lookup(path) ?? pathIno(path)
  }

  /** Registers one more kernel reference to the entry at `path`; returns its id (`preferred` if the
   *  entry gets a new one and that one is free). Synchronous on purpose. */
  ref(path: string, preferred?: number): number {
    const i = path.lastIndexOf('/')
    return i < 0 ? this.refIn('', path, path, preferred) : this.refIn(path.slice(0, i), path.slice(i + 1), path, preferred)
  }

  /** `ref` of `path`, given as its directory and name: a READDIRPLUS passes the same `dir` string
   *  for every entry, so finding the directory costs no slice and no string compare. */
  refIn(dir: string, name: string, path: string, preferred?: number): number {
    let s = ROOT
    if (path !== '') {
      const d = dir === '' ? ROOT : this.ensureDir(dir)
      const hash = nameHash(d, name)
      s = this.child(d, name, hash)
      if (s < 0) s = this.create(d, name, hash)
      else if (this.flags[s] & ALIAS) {
        const primary = this.slotOf(this.inos[s])
        if (primary >= 0) {
          this.nlookups[primary]++
          return this.inos[s]
        }
        this.flags[s] &= ~ALIAS // its inode is gone: the name gets an id of its own
      }
    }
    if (!(this.flags[s] & LIVE)) {
      // `preferred`: the id the entry had before (see movedIds in vfs.ts), if nothing holds it now.
      let ino = preferred !== undefined && preferred > ROOT_INO && this.slotOf(preferred) < 0 ? preferred : pathIno(path)
      while (this.slotOf(ino) >= 0) ino = ino + 1 >= MASK ? 2 : ino + 1
      this.inos[s] = ino
      this.flags[s] |= LIVE
      this.inoInsert(s)
    }
    this.nlookups[s]++
    return this.inos[s]
  }

  /**
   * Registers `path` as another name of the live inode `ino` (a hard link) and one more kernel
   * reference to it; returns `ino`. A path the kernel already holds as an inode of its own keeps it
   * (that id is returned instead).
   */
  linkAs(path: string, ino: number): number {
    const primary = this.slotOf(ino)
    const s0 = this.find(path)
    if (primary < 0 || (s0 >= 0 && this.flags[s0] & (LIVE | ALIAS))) return this.ref(path)
    const i = path.lastIndexOf('/')
    const d = i < 0 ? ROOT : this.ensureDir(path.slice(0, i))
    const name = i < 0 ? path : path.slice(i + 1)
    const hash = nameHash(d, name)
    let s = this.child(d, name, hash)
    if (s < 0) s = this.create(d, name, hash)
    if (s === primary) return this.ref(path)
    this.inos[s] = ino
    this.flags[s] |= ALIAS
    const list = this.aliases.get(ino)
    if (list) list.push(s)
    else this.aliases.set(ino, [s])
    this.nlookups[primary]++
    return ino
  }

  forget(ino: number, n: number): void {
    if (ino === ROOT_INO) return
    const s = this.slotOf(ino)
    if (s < 0) return
    this.nlookups[s] -= n
    if (this.nlookups[s] > 0) return
    this.nlookups[s] = 0
    this.flags[s] &= ~LIVE
    this.inoRemove(s)
    this.attrs.release(s)
    const list = this.aliases.get(ino)
    if (list) {
      this.aliases.delete(ino)
      for (const a of list) this.dropAlias(a)
    }
    this.prune(s)
  }

  /** The entry at `path` is gone (unlink, rmdir, replaced by a rename); returns its id if live. */
  detach(path: string): number | undefined {
    const s = this.find(path)
    if (s <= ROOT) return undefined
    if (this.flags[s] & ALIAS) return void this.removeAlias(s)
    if (!(this.flags[s] & LIVE)) return undefined
    // The file keeps another name: the id moves to it, the inode stays attached.
    if (this.handOver(s)) return undefined
    this.unlinkName(s)
    return this.inos[s]
  }

  /** Detaches the entries at and beneath `paths` (the base moved); returns the live ids detached. */
  detachUnder(paths: Iterable<string>): number[] {
    const marked = new Set<number>()
    for (const p of paths) {
      const s = this.find(p)
      if (s > ROOT) marked.add(s)
    }
    if (marked.size === 0) return []
    // 0: not known yet, 1: beneath a marked record, 2: not.
    const state = new Uint8Array(this.used)
    const under = (s: number): boolean => {
      const chain: number[] = []
      let verdict = 2
      for (let x = s; x > ROOT; x = this.parents[x]) {
        if (state[x]) {
          verdict = state[x]
          break
        }
        if (marked.has(x)) {
          verdict = 1
          break
        }
        chain.push(x)
      }
      for (const x of chain) state[x] = verdict
      if (marked.has(s)) state[s] = 1
      return verdict === 1
    }
    const gone: number[] = []
    for (let s = 1; s < this.used; s++) {
      if (this.flags[s] & USED && !(this.flags[s] & DETACHED) && under(s)) gone.push(s)
    }
    const inos: number[] = []
    for (const s of gone) {
      if (this.flags[s] & LIVE) inos.push(this.inos[s])
      this.unlinkName(s)
    }
    for (const s of gone) if (this.flags[s] & USED) this.prune(s)
    return inos
  }

  /** Every live, attached path with its id (a base move without a list of changed paths). */
  livePaths(): Map<string, number> {
    const out = new Map<string, number>()
    for (let s = 0; s < this.used; s++) {
      if (this.flags[s] & LIVE && !this.isDetachedSlot(s)) out.set(this.pathOf(s), this.inos[s])
    }
    return out
  }

  /** Moves `from` and everything beneath it to `to` (after a rename). */
  move(from: string, to: string): void {
    const s = this.find(from)
    if (s <= ROOT || from === to) return
    let existing = this.find(to)
    if (existing > ROOT && this.flags[existing] & ALIAS) {
      this.removeAlias(existing)
      existing = -1
    } else if (existing > ROOT && this.flags[existing] & LIVE && this.handOver(existing)) existing = -1
    if (existing > ROOT) this.unlinkName(existing)
    const i = to.lastIndexOf('/')
    const parent = i < 0 ? ROOT : this.ensureDir(to.slice(0, i))
    for (let x = parent; x > ROOT; x = this.parents[x]) if (x === s) return // into itself: refused by the kernel
    this.relink(s, parent, i < 0 ? to : to.slice(i + 1))
    if (existing > ROOT) this.prune(existing)
  }

  /** Swaps two subtrees (RENAME_EXCHANGE). */
  exchange(a: string, b: string): void {
    const sa = this.find(a)
    const sb = this.find(b)
    if (sa <= ROOT || sb <= ROOT) {
      if (sa > ROOT) this.move(a, b)
      else if (sb > ROOT) this.move(b, a)
      return
    }
    for (let x = this.parents[sb]; x > ROOT; x = this.parents[x]) if (x === sa) return
    for (let x = this.parents[sa]; x > ROOT; x = this.parents[x]) if (x === sb) return
    const [pa, na, pb, nb] = [this.parents[sa], this.names[sa], this.parents[sb], this.names[sb]]
    this.nameRemove(sa)
    this.nameRemove(sb)
    this.kids[pa]--
    this.kids[pb]--
    this.place(sa, pb, nb)
    this.place(sb, pa, na)
    this.lastDirSlot = -1
  }

  /** Keeps `attr` as the last attributes answered for `ino`. */
  remember(ino: number, attr: Attr): void {
    const s = this.slotOf(ino)
    if (s >= 0) this.attrs.set(s, attr)
  }

  /** The last attributes remembered for `ino`, if any. */
  lastAttr(ino: number): Attr | undefined {
    const s = this.slotOf(ino)
    return s < 0 ? undefined : this.attrs.get(s, ino)
  }

  /** What the remembered attributes take (for tests). */
  attrStats(): { whole: number; shared: number } {
    return this.attrs.stats()
  }

  // ---- hard links ---------------------------------------------------------------------------

  /** Unregisters alias record `a` (its name was removed or replaced). */
  private removeAlias(a: number): void {
    const ino = this.inos[a]
    const list = this.aliases.get(ino)
    if (list) {
      const k = list.indexOf(a)
      if (k >= 0) list.splice(k, 1)
      if (list.length === 0) this.aliases.delete(ino)
    }
    this.dropAlias(a)
  }

  private dropAlias(a: number): void {
    this.flags[a] &= ~ALIAS
    this.inos[a] = 0
    this.unlinkName(a)
    this.prune(a)
  }

  /** The name held by record `s` goes away but its inode has an alias: the alias takes over the
   *  id, its lookups and remembered attributes. False when there is no alias. */
  private handOver(s: number): boolean {
    const ino = this.inos[s]
    const list = this.aliases.get(ino)
    let a = -1
    while (list && list.length > 0 && a < 0) {
      const x = list.shift()!
      if (this.isDetachedSlot(x)) this.dropAlias(x)
      else a = x
    }
    if (list?.length === 0) this.aliases.delete(ino)
    if (a < 0) return false
    const attr = this.attrs.get(s, ino)
    this.inoRemove(s)
    this.flags[a] = (this.flags[a] & ~ALIAS) | LIVE
    this.nlookups[a] = this.nlookups[s]
    this.inoInsert(a)
    if (attr) this.attrs.set(a, attr)
    this.attrs.release(s)
    this.flags[s] &= ~LIVE
    this.nlookups[s] = 0
    this.inos[s] = 0
    this.unlinkName(s)
    this.prune(s)
    return true
  }

  // ---- records ------------------------------------------------------------------------------

  private grow(min: number): void {
    const cap = Math.max(min, this.cap * 2)
    this.inos = grown(this.inos, cap)
    this.parents = grown(this.parents, cap)
    this.nlookups = grown(this.nlookups, cap)
    this.flags = grown(this.flags, cap)
    this.kids = grown(this.kids, cap)
    this.hashes = grown(this.hashes, cap)
    this.attrs.grow(cap)
    this.cap = cap
  }

  private alloc(): number {
    this.recordCount++
    if (this.freeHead >= 0) {
      const s = this.freeHead
      this.freeHead = this.parents[s]
      return s
    }
    if (this.used === this.cap) this.grow(this.used + 1)
    return this.used++
  }

  private create(parent: number, name: string, hash: number): number {
    const s = this.alloc()
    this.inos[s] = 0
    this.nlookups[s] = 0
    this.flags[s] = USED
    this.kids[s] = 0
    this.place(s, parent, name, hash)
    return s
  }

  /** Sets the record's parent and name and indexes it under them. */
  private place(s: number, parent: number, name: string, hash = nameHash(parent, name)): void {
    this.parents[s] = parent
    this.kids[parent]++
    this.names[s] = name
    this.hashes[s] = hash
    this.nameInsert(s)
  }

  /** Re-parents a record (rename), pruning the old parent if it is left unneeded. */
  private relink(s: number, parent: number, name: string): void {
    const old = this.parents[s]
    this.nameRemove(s)
    this.kids[old]--
    this.place(s, parent, name)
    this.lastDirSlot = -1
    this.prune(old)
  }

  /** Makes the record unreachable by its path (it keeps its name and parent for its last path). */
  private unlinkName(s: number): void {
    if (this.flags[s] & DETACHED) return
    this.nameRemove(s)
    this.flags[s] |= DETACHED
    this.lastDirSlot = -1
  }

  /** Frees `s` and then its ancestors while nothing needs them: not live, no records beneath. */
  private prune(s: number): void {
    while (s > ROOT && !(this.flags[s] & (LIVE | ALIAS)) && this.kids[s] === 0) {
      const parent = this.parents[s]
      if (!(this.flags[s] & DETACHED)) this.nameRemove(s)
      this.attrs.release(s)
      this.flags[s] = 0
      this.names[s] = ''
      this.parents[s] = this.freeHead
      this.freeHead = s
      this.recordCount--
      this.kids[parent]--
      this.lastDirSlot = -1
      s = parent
    }
  }

  private pathOf(s: number): string {
    if (s === ROOT) return ''
    let path = this.names[s]
    for (let x = this.parents[s]; x > ROOT; x = this.parents[x]) path = `${this.names[x]}/${path}`
    return path
  }

  private isDetachedSlot(s: number): boolean {
    for (let x = s; x > ROOT; x = this.parents[x]) if (this.flags[x] & DETACHED) return true
    return false
  }

  // ---- paths --------------------------------------------------------------------------------

  /** The attached record at `path`, or -1. */
  private find(path: string): number {
    if (path === '') return ROOT
    const i = path.lastIndexOf('/')
    const dir = i < 0 ? ROOT : this.findDir(path.slice(0, i), false)
    return dir < 0 ? -1 : this.child(dir, i < 0 ? path : path.slice(i + 1))
  }

  private ensureDir(dir: string): number {
    return this.findDir(dir, true)
  }

  private findDir(dir: string, create: boolean): number {
    let s = ROOT
    let from = 0
    if (this.lastDirSlot >= 0) {
      const last = this.lastDir
      if (dir === last) return this.lastDirSlot
      // A walk goes down and sideways: start from the deepest directory of the last path that is
      // also one of this path's (its record is valid: any rename or removal resets lastDirSlot).
      const n = Math.min(dir.length, last.length)
      let same = 0
      while (same < n && dir.charCodeAt(same) === last.charCodeAt(same)) same++
      let at = last.length
      let x = this.lastDirSlot
      while (x > ROOT && !(at <= same && dir.charCodeAt(at) === 47)) {
        x = this.parents[x]
        at = last.lastIndexOf('/', at - 1)
        if (at < 0) x = ROOT
      }
      if (x > ROOT) {
        s = x
        from = at + 1
      }
    }
    for (const name of (from === 0 ? dir : dir.slice(from)).split('/')) {
      const hash = nameHash(s, name)
      let c = this.child(s, name, hash)
      if (c < 0) {
        if (!create) return -1
        c = this.create(s, name, hash)
      }
      s = c
    }
    this.lastDir = dir
    this.lastDirSlot = s
    return s
  }

  // ---- indexes (linear probing, deletion by backward shift) ---------------------------------

  private slotOf(ino: number): number {
    const tab = this.byIno
    const mask = tab.length - 1
    for (let i = inoHash(ino) & mask; ; i = (i + 1) & mask) {
      const v = tab[i]
      if (v === 0) return -1
      if (this.inos[v - 1] === ino) return v - 1
    }
  }

  private child(parent: number, name: string, hash = nameHash(parent, name)): number {
    const tab = this.byName
    const mask = tab.length - 1
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const v = tab[i]
      if (v === 0) return -1
      const s = v - 1
      if (this.hashes[s] === hash && this.parents[s] === parent && this.names[s] === name) return s
    }
  }

  private inoInsert(s: number): void {
    if (++this.inoCount * 2 > this.byIno.length) this.byIno = this.rehash(this.byIno, (x) => inoHash(this.inos[x]))
    insert(this.byIno, s, inoHash(this.inos[s]))
  }

  private inoRemove(s: number): void {
    remove(this.byIno, s, inoHash(this.inos[s]), (x) => inoHash(this.inos[x]))
    this.inoCount--
  }

  private nameInsert(s: number): void {
    if (++this.nameCount * 2 > this.byName.length) this.byName = this.rehash(this.byName, (x) => this.hashes[x])
    insert(this.byName, s, this.hashes[s])
  }

  private nameRemove(s: number): void {
    remove(this.byName, s, this.hashes[s], (x) => this.hashes[x])
    this.nameCount--
  }

  private rehash(tab: Int32Array, hashOf: (s: number) => number): Int32Array {
    const next = new Int32Array(tab.length * 2)
    for (const v of tab) if (v !== 0) insert(next, v - 1, hashOf(v - 1))
    return next
  }
}
