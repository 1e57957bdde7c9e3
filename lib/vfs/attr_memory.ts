// The last attributes answered for each inode of the table (served while an inode is detached and
// has no open file to stat), kept by record slot in typed arrays. Lower entries differ only in mode
// and size: those two are kept per slot and the other fields are one shared part for all entries
// with the same owner, times and nlink. Attributes sharing nothing (upper files with their own
// times, blocks that are not ceil(size / 512), flags) are kept whole.
import type { Attr } from '../fuse/raw_fs.ts'

type SharedAttr = Readonly<Omit<Required<Attr>, 'ino' | 'mode' | 'size' | 'blocks' | 'flags'>>
const SHARED_FIELDS = ['nlink', 'uid', 'gid', 'rdev', 'blksize', 'atime', 'atimensec', 'mtime', 'mtimensec', 'ctime', 'ctimensec'] as const
/** Shared parts looked for when a new attribute comes in (lower files and directories differ in nlink). */
const RECENT = 4
const NONE = 0
const WHOLE = 0xffff_ffff

function sameShared(p: SharedAttr, attr: Attr): boolean {
  for (let i = 0; i < SHARED_FIELDS.length; i++) {
    const f = SHARED_FIELDS[i]
    if (p[f] !== (attr[f] ?? 0)) return false
  }
  return true
}

export class AttrMemory {
  private modes = new Uint32Array(0)
  private sizes = new Float64Array(0)
  /** Per slot: NONE, WHOLE (in `whole`), or shared part index + 1. */
  private kinds = new Uint32Array(0)
  private readonly whole = new Map<number, Attr>()
  private readonly parts: (SharedAttr | undefined)[] = []
  private readonly refs: number[] = []
  private readonly freeParts: number[] = []
  /** Part indices, most recently used first. */
  private readonly recent: number[] = []

  /** Makes room for slots below `cap`. */
  grow(cap: number): void {
    const grown = <T extends Uint32Array | Float64Array>(a: T, make: (n: number) => T): T => {
      const b = make(cap)
      b.set(a)
      return b
    }
    this.modes = grown(this.modes, (n) => new Uint32Array(n))
    this.sizes = grown(this.sizes, (n) => new Float64Array(n))
    this.kinds = grown(this.kinds, (n) => new Uint32Array(n))
  }

  set(slot: number, attr: Attr): void {
    this.release(slot)
    const size = attr.size ?? 0
    const compact = !attr.flags && (attr.blocks ?? Math.ceil(size / 512)) === Math.ceil(size / 512)
    const part = compact ? this.partFor(attr) : -1
    if (part < 0) {
      this.kinds[slot] = WHOLE
      this.whole.set(slot, attr)
      return
    }
    this.refs[part]++
    this.kinds[slot] = part + 1
    this.modes[slot] = attr.mode
    this.sizes[slot] = size
  }

  get(slot: number, ino: number): Attr | undefined {
    const k = this.kinds[slot]
    if (k === NONE) return undefined
    if (k === WHOLE) return this.whole.get(slot)
    const size = this.sizes[slot]
    return { ino, mode: this.modes[slot], size, blocks: Math.ceil(size / 512), ...this.parts[k - 1]! }
  }

  /** Forgets what was kept for `slot`. */
  release(slot: number): void {
    const k = this.kinds[slot]
    if (k === NONE) return
    this.kinds[slot] = NONE
    if (k === WHOLE) {
      this.whole.delete(slot)
      return
    }
    const part = k - 1
    if (--this.refs[part] === 0 && !this.recent.includes(part)) this.freePart(part)
  }

  /** How many attributes are kept whole, and how many shared parts are in use (for tests). */
  stats(): { whole: number; shared: number } {
    return { whole: this.whole.size, shared: this.parts.filter((p, i) => p && this.refs[i] > 0).length }
  }

  private partFor(attr: Attr): number {
    // Plain loops: this runs for every entry a walk lists (closures here were garbage per entry).
    const recent = this.recent
    for (let at = 0; at < recent.length; at++) {
      const part = recent[at]
      if (!sameShared(this.parts[part]!, attr)) continue
      if (at > 0) {
        recent.splice(at, 1)
        recent.unshift(part)
      }
      return part
    }
    const part = this.freeParts.pop() ?? this.parts.length
    this.parts[part] = Object.freeze(Object.fromEntries(SHARED_FIELDS.map((f) => [f, attr[f] ?? 0]))) as SharedAttr
    this.refs[part] = 0
    this.recent.unshift(part)
    if (this.recent.length > RECENT) {
      const old = this.recent.pop()!
      if (this.refs[old] === 0) this.freePart(old)
    }
    return part
  }

  private freePart(part: number): void {
    this.parts[part] = undefined
    this.freeParts.push(part)
  }
}
