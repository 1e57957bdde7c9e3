// Byte-level encode/decode of the FUSE structs (little-endian, as the kernel writes them).
import type { Attr, Dirent, DirentPlus, EntryOut, Kstatfs, OpenOut } from './raw_fs.ts'
import {
  ATTR_OUT_SIZE, ATTR_SIZE, DIRENT_SIZE, ENTRY_OUT_SIZE, FOPEN, IN_HEADER_SIZE, OPEN_OUT_SIZE,
  OUT_HEADER_SIZE, S_IFMT,
} from './kernel.ts'

const utf8 = new TextDecoder()
const enc = new TextEncoder()

/** fuse_in_header, decoded. */
export interface InHeader {
  len: number
  opcode: number
  unique: bigint
  nodeid: number
  uid: number
  gid: number
  pid: number
  totalExtlen: number
}

export function u64(v: DataView, off: number): number {
  return v.getUint32(off, true) + v.getUint32(off + 4, true) * 0x1_0000_0000
}

export function setU64(v: DataView, off: number, n: number): void {
  if (n < 0) {
    v.setBigInt64(off, BigInt(n), true)
    return
  }
  v.setUint32(off, n >>> 0, true)
  v.setUint32(off + 4, Math.floor(n / 0x1_0000_0000) >>> 0, true)
}

export function decodeInHeader(v: DataView): InHeader {
  return {
    len: v.getUint32(0, true),
    opcode: v.getUint32(4, true),
    unique: v.getBigUint64(8, true),
    nodeid: u64(v, 16),
    uid: v.getUint32(24, true),
    gid: v.getUint32(28, true),
    pid: v.getUint32(32, true),
    totalExtlen: v.getUint16(36, true),
  }
}

/** Cursor over a request body: fixed structs, then NUL-terminated names and raw bytes. */
export class BodyReader {
  readonly v: DataView
  readonly buf: Uint8Array
  pos: number
  readonly end: number
  constructor(buf: Uint8Array, start = IN_HEADER_SIZE, end = buf.length) {
    this.buf = buf
    this.v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    this.pos = start
    this.end = end
  }
  /** Next NUL-terminated UTF-8 string. */
  name(): string {
    let i = this.pos
    const { buf, end } = this
    while (i < end && buf[i] !== 0) i++
    const s = utf8.decode(buf.subarray(this.pos, i))
    this.pos = i + 1
    return s
  }
  bytes(n: number): Uint8Array {
    const out = this.buf.subarray(this.pos, this.pos + n)
    this.pos += n
    return out
  }
  rest(): Uint8Array {
    return this.bytes(this.end - this.pos)
  }
}

/** A reply under construction: fuse_out_header room + body. */
export function allocReply(bodySize: number): { buf: Uint8Array; v: DataView } {
  const buf = new Uint8Array(OUT_HEADER_SIZE + bodySize)
  return { buf, v: new DataView(buf.buffer) }
}

export function writeOutHeader(v: DataView, len: number, error: number, unique: bigint): void {
  v.setUint32(0, len, true)
  v.setInt32(4, error, true)
  v.setBigUint64(8, unique, true)
}

export function splitTimeout(t: number | undefined, fallback: number): [number, number] {
  const s = t === undefined || !(t >= 0) ? fallback : t
  const sec = Math.floor(s)
  return [sec, Math.min(999_999_999, Math.round((s - sec) * 1e9))]
}

export function encodeAttr(v: DataView, off: number, a: Attr): void {
  const size = a.size ?? 0
  setU64(v, off, a.ino)
  setU64(v, off + 8, size)
  setU64(v, off + 16, a.blocks ?? Math.ceil(size / 512))
  setU64(v, off + 24, a.atime ?? 0)
  setU64(v, off + 32, a.mtime ?? 0)
  setU64(v, off + 40, a.ctime ?? 0)
  v.setUint32(off + 48, a.atimensec ?? 0, true)
  v.setUint32(off + 52, a.mtimensec ?? 0, true)
  v.setUint32(off + 56, a.ctimensec ?? 0, true)
  v.setUint32(off + 60, a.mode, true)
  v.setUint32(off + 64, a.nlink ?? 1, true)
  v.setUint32(off + 68, a.uid ?? 0, true)
  v.setUint32(off + 72, a.gid ?? 0, true)
  v.setUint32(off + 76, a.rdev ?? 0, true)
  v.setUint32(off + 80, a.blksize ?? 4096, true)
  v.setUint32(off + 84, a.flags ?? 0, true)
}

export function decodeAttr(v: DataView, off: number): Attr {
  return {
    ino: u64(v, off), size: u64(v, off + 8), blocks: u64(v, off + 16),
    atime: u64(v, off + 24), mtime: u64(v, off + 32), ctime: u64(v, off + 40),
    atimensec: v.getUint32(off + 48, true), mtimensec: v.getUint32(off + 52, true),
    ctimensec: v.getUint32(off + 56, true), mode: v.getUint32(off + 60, true),
    nlink: v.getUint32(off + 64, true), uid: v.getUint32(off + 68, true),
    gid: v.getUint32(off + 72, true), rdev: v.getUint32(off + 76, true),
    blksize: v.getUint32(off + 80, true), flags: v.getUint32(off + 84, true),
  }
}

/** Default cache timeouts (seconds) when a reply leaves them out. */
export const DEFAULT_TIMEOUT = 1

export function encodeEntryOut(v: DataView, off: number, e: EntryOut): void {
  const [es, ens] = splitTimeout(e.entryValid, DEFAULT_TIMEOUT)
  const [as, ans] = splitTimeout(e.attrValid, DEFAULT_TIMEOUT)
  setU64(v, off, e.nodeid)
  setU64(v, off + 8, e.generation ?? 0)
  setU64(v, off + 16, es)
  setU64(v, off + 24, as)
  v.setUint32(off + 32, ens, true)
  v.setUint32(off + 36, ans, true)
  if (e.nodeid === 0 && e.attr === undefined) return
  encodeAttr(v, off + 40, e.attr)
}

export function encodeAttrOut(v: DataView, off: number, attrValid: number | undefined, attr: Attr): void {
  const [s, ns] = splitTimeout(attrValid, DEFAULT_TIMEOUT)
  setU64(v, off, s)
  v.setUint32(off + 8, ns, true)
  v.setUint32(off + 12, 0, true)
  encodeAttr(v, off + 16, attr)
}

export function openFlags(o: OpenOut): number {
  return (o.directIo ? FOPEN.DIRECT_IO : 0) | (o.keepCache ? FOPEN.KEEP_CACHE : 0) |
    (o.nonseekable ? FOPEN.NONSEEKABLE : 0) | (o.cacheDir ? FOPEN.CACHE_DIR : 0) |
    (o.noFlush ? FOPEN.NOFLUSH : 0) | (o.parallelDirectWrites ? FOPEN.PARALLEL_DIRECT_WRITES : 0)
}

export function encodeOpenOut(v: DataView, off: number, o: OpenOut): void {
  setU64(v, off, o.fh ?? 0)
  v.setUint32(off + 8, openFlags(o), true)
  v.setUint32(off + 12, 0, true)
}

export function encodeKstatfs(v: DataView, off: number, s: Kstatfs): void {
  setU64(v, off, s.blocks)
  setU64(v, off + 8, s.bfree)
  setU64(v, off + 16, s.bavail)
  setU64(v, off + 24, s.files)
  setU64(v, off + 32, s.ffree)
  v.setUint32(off + 40, s.bsize ?? 4096, true)
  v.setUint32(off + 44, s.namelen ?? 255, true)
  v.setUint32(off + 48, s.frsize ?? s.bsize ?? 4096, true)
}
export const KSTATFS_SIZE = 80

export { ATTR_OUT_SIZE, ATTR_SIZE, ENTRY_OUT_SIZE, OPEN_OUT_SIZE }

/** DT_* from an st_mode, or the value itself when it already is a DT_* (< 16). */
export function direntType(t: number): number {
  return t < 16 ? t : (t & S_IFMT) >> 12
}

const align8 = (n: number) => (n + 7) & ~7

/** Packs fuse_dirent / fuse_direntplus records into a buffer of at most `max` bytes. */
export class DirentBuffer {
  /** Grows (doubling) up to OUT_HEADER_SIZE + max: the kernel asks for up to 1 MiB per READDIR
   *  while most directories fill a few hundred bytes. */
  buf: Uint8Array
  v: DataView
  /** Bytes used after the out header. */
  used = 0
  count = 0
  /** `off` of the last entry added (the offset a READDIR after it would ask for). */
  lastOff = 0
  /** Buffer offsets of the fuse_entry_out of entries marked `stable` (READDIRPLUS). */
  stableEntries: number[] = []
  constructor(public max: number, public plus: boolean) {
    this.buf = new Uint8Array(OUT_HEADER_SIZE + Math.min(max, 4096))
    this.v = new DataView(this.buf.buffer)
  }
  /** Empties the buffer for another reply (sessions reuse a few: one per READDIR was most of the
   *  garbage of a walk). Every record is written in full, so old bytes never show. */
  reset(max: number, plus: boolean): this {
    this.max = max
    this.plus = plus
    this.used = 0
    this.count = 0
    this.lastOff = 0
    this.stableEntries.length = 0
    return this
  }
  add(d: Dirent | DirentPlus): boolean {
    const fixed = this.plus ? ENTRY_OUT_SIZE + DIRENT_SIZE : DIRENT_SIZE
    // The name is encoded straight into the buffer: make room for its longest UTF-8 form first.
    const worst = OUT_HEADER_SIZE + this.used + align8(fixed + 3 * d.name.length)
    if (worst > this.buf.length && this.buf.length < OUT_HEADER_SIZE + this.max) {
      const grown = new Uint8Array(Math.min(OUT_HEADER_SIZE + this.max, Math.max(2 * this.buf.length, worst)))
      grown.set(this.buf.subarray(0, OUT_HEADER_SIZE + this.used))
      this.buf = grown
      this.v = new DataView(grown.buffer)
    }
    let off = OUT_HEADER_SIZE + this.used
    const nameOff = off + fixed
    const { read, written } = enc.encodeInto(d.name, this.buf.subarray(nameOff, OUT_HEADER_SIZE + this.max))
    if (read < d.name.length) return false
    const rec = align8(fixed + written)
    if (this.used + rec > this.max) return false
    this.buf.fill(0, off, nameOff)
    this.buf.fill(0, nameOff + written, off + rec)
    let ino: number
    let type: number
    if (this.plus) {
      const p = d as DirentPlus
      ino = p.entry.nodeid !== 0 ? p.entry.nodeid : (p.entry.attr?.ino ?? 0)
      if (p.entry.nodeid !== 0) {
        encodeEntryOut(this.v, off, p.entry)
        if (p.entry.stable) this.stableEntries.push(off)
      }
      type = direntType(p.type ?? p.entry.attr?.mode ?? 0)
      off += ENTRY_OUT_SIZE
    } else {
      const e = d as Dirent
      ino = e.ino
      type = direntType(e.type)
    }
    setU64(this.v, off, ino)
    setU64(this.v, off + 8, d.off)
    this.v.setUint32(off + 16, written, true)
    this.v.setUint32(off + 20, type, true)
    this.used += rec
    this.count++
    this.lastOff = d.off
    return true
  }
}

export function encodeName(s: string): Uint8Array {
  return enc.encode(s)
}
