// Batch files ("packs") of the disk object DB: a fetch of many objects is written as one data file
// `packs/<name>.pack` (records `type size\0body`, back to back) and one index `packs/<name>.idx`
// (sorted records: 20-byte id, 8-byte offset, 4-byte length), each temp + rename, the index last,
// so a reader sees a pack only once it is complete. Thousands of small files cost far more than
// one big write: this keeps the tree fetch of a 100k-file repository to two files.
import { promises as fsp } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { writeObjectHeader, type PackBlock } from '../git/pack_reader.ts'
import { META } from '../git/pack_scan.ts'
import { isOid } from '../git/sha1.ts'
import { trace } from '../trace.ts'
import type { ObjectType, Oid } from './types.ts'

const REC = 32

/** Writes an entry's pack offset (8 bytes) and record length (4 bytes), big-endian, after its 20-byte id. */
function putPlace(ent: Uint8Array, at: number, offset: number, len: number): void {
  const hi = Math.floor(offset / 2 ** 32)
  const lo = offset >>> 0
  ent[at + 20] = hi >>> 24
  ent[at + 21] = hi >>> 16
  ent[at + 22] = hi >>> 8
  ent[at + 23] = hi
  ent[at + 24] = lo >>> 24
  ent[at + 25] = lo >>> 16
  ent[at + 26] = lo >>> 8
  ent[at + 27] = lo
  ent[at + 28] = len >>> 24
  ent[at + 29] = len >>> 16
  ent[at + 30] = len >>> 8
  ent[at + 31] = len
}
/** A pack read this many times, and no bigger than HOT_MAX_BYTES, is kept in memory... */
const HOT_READS = 256
const HOT_MAX_BYTES = 24 << 20
/** ...while all such packs of the process stay within this (the first hot one is a commit's trees). */
const HOT_BUDGET = 32 << 20
let hotBytes = 0
const MAGIC = 'SCPI0001'

export interface PackLoc {
  pack: PackFile
  /** Record number in the pack's index. */
  index: number
  offset: number
  length: number
}

/** Parses a 40-hex id into `out` (20 bytes); false when it is not one. */
export function hexToBytes(oid: string, out: Uint8Array): boolean {
  if (oid.length !== 40) return false
  for (let i = 0; i < 20; i++) {
    const a = hexVal(oid.charCodeAt(2 * i))
    const b = hexVal(oid.charCodeAt(2 * i + 1))
    if ((a | b) < 0) return false
    out[i] = (a << 4) | b
  }
  return true
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  return -1
}

/** Scratch for locate(): ids parsed here, never kept. */
const KEY = new Uint8Array(20)

export class PackFile {
  fh: Promise<fsp.FileHandle> | null = null
  /** Where each run of records sharing their first `bits` id bits starts (built on first use):
   *  ids are uniform, so a lookup compares ~1 record in JS instead of a binary search of native
   *  compares (a walk of a 100,000-file tree looks up ~300k ids). */
  private runs: Uint32Array | null = null
  private bits = 0
  constructor(readonly name: string, readonly dir: string, readonly idx: Buffer) {}
  get count(): number {
    return (this.idx.length - 8) / REC
  }
  get dataPath(): string {
    return join(this.dir, this.name + '.pack')
  }
  private buildRuns(): Uint32Array {
    const n = this.count
    // About one record per run, between 256 and 65,536 runs (at most 256 KiB for a big pack).
    let bits = 8
    while (bits < 16 && 1 << bits < n) bits++
    const shift = 16 - bits
    const idx = this.idx
    const runs = new Uint32Array((1 << bits) + 1)
    for (let i = 0, e = 8; i < n; i++, e += REC) runs[(((idx[e] << 8) | idx[e + 1]) >>> shift) + 1]++
    for (let k = 0; k < 1 << bits; k++) runs[k + 1] += runs[k]
    this.bits = bits
    this.runs = runs
    return runs
  }
  /** The record number of the id `key[at .. at + 20)`, or -1. */
  indexOf(key: Uint8Array, at = 0): number {
    const runs = this.runs ?? this.buildRuns()
    const idx = this.idx
    const run = ((key[at] << 8) | key[at + 1]) >>> (16 - this.bits)
    for (let i = runs[run], stop = runs[run + 1]; i < stop; i++) {
      const e = 8 + i * REC
      let k = 0
      while (k < 20 && idx[e + k] === key[at + k]) k++
      if (k === 20) return i
      // Sorted: past the key, it is not here.
      if (idx[e + k] > key[at + k]) return -1
    }
    return -1
  }
  offsetAt(i: number): number {
    const e = 8 + i * REC + 20
    const idx = this.idx
    return (idx[e] * 0x1000000 + ((idx[e + 1] << 16) | (idx[e + 2] << 8) | idx[e + 3])) * 2 ** 32 + ((idx[e + 4] << 24) >>> 0) + ((idx[e + 5] << 16) | (idx[e + 6] << 8) | idx[e + 7])
  }
  lengthAt(i: number): number {
    const e = 8 + i * REC + 28
    const idx = this.idx
    return ((idx[e] << 24) >>> 0) + ((idx[e + 1] << 16) | (idx[e + 2] << 8) | idx[e + 3])
  }
  find(key: Uint8Array): { offset: number; length: number } | null {
    const i = this.indexOf(key)
    return i < 0 ? null : { offset: this.offsetAt(i), length: this.lengthAt(i) }
  }
  /** Ids starting with the hex digits `prefix` (sorted records: a binary search to the first). */
  withPrefix(prefix: string): Oid[] {
    const low = Buffer.from(prefix.padEnd(40, '0'), 'hex')
    let lo = 0
    let hi = this.count
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      // idx.compare(target, ...): the record against `low`
      if (this.idx.compare(low, 0, 20, 8 + mid * REC, 8 + mid * REC + 20) < 0) lo = mid + 1
      else hi = mid
    }
    const out: Oid[] = []
    for (let i = lo; i < this.count; i++) {
      const hex = this.idx.toString('hex', 8 + i * REC, 8 + i * REC + 20)
      if (!hex.startsWith(prefix)) break
      out.push(hex)
    }
    return out
  }
  oids(): Oid[] {
    const out: Oid[] = []
    for (let i = 0; i < this.count; i++) out.push(this.idx.toString('hex', 8 + i * REC, 8 + i * REC + 20))
    return out
  }
  /** The whole data file once the pack is hot and small (a commit's trees: a walk reads thousands). */
  private data: Buffer | null = null
  private reads = 0
  private loading: Promise<void> | null = null

  /** Records already checked against their id in the in-memory copy (which cannot change). */
  private checked: Uint8Array | null = null

  /** The record at `offset` in the in-memory copy (a view: not to be kept or changed), or null
   *  when the pack is not in memory. */
  hotView(offset: number, length: number): Buffer | null {
    return this.data && this.data.subarray(offset, offset + length)
  }
  /** True when record `i` of the in-memory copy was found to match its id already. */
  isChecked(i: number): boolean {
    return this.checked !== null && (this.checked[i >> 3] & (1 << (i & 7))) !== 0
  }
  /** Notes that record `i`, read through hotView, matches its id. */
  markChecked(i: number): void {
    if (!this.data) return
    this.checked ??= new Uint8Array((this.count + 7) >> 3)
    this.checked[i >> 3] |= 1 << (i & 7)
  }

  /** Closed (the pack left the set): a read still under way uses a handle of its own. Bun ends
   *  the process when a FileHandle is collected unclosed, so none may be left behind. */
  private closed = false

  async read(offset: number, length: number): Promise<Buffer> {
    if (this.data) return Buffer.from(this.data.subarray(offset, offset + length))
    if (this.closed) {
      const fh = await fsp.open(this.dataPath, 'r')
      try {
        return await readAt(fh, offset, length)
      } finally {
        await fh.close()
      }
    }
    if (++this.reads === HOT_READS && !this.loading) {
      this.loading = (async () => {
        const fh = await (this.fh ??= fsp.open(this.dataPath, 'r'))
        const st = await fh.stat()
        if (st.size > HOT_MAX_BYTES || hotBytes + st.size > HOT_BUDGET) return
        hotBytes += st.size
        const all = Buffer.allocUnsafe(st.size)
        let got = 0
        try {
          while (got < st.size) {
            const { bytesRead } = await fh.read(all, got, st.size - got, got)
            if (bytesRead === 0) break
            got += bytesRead
          }
        } finally {
          if (got === st.size) this.data = all
          else hotBytes -= st.size
        }
      })().catch(() => {})
    }
    if (!this.fh) this.fh = fsp.open(this.dataPath, 'r')
    return readAt(await this.fh, offset, length)
  }
  async close(): Promise<void> {
    this.closed = true
    await this.loading
    if (this.data) hotBytes -= this.data.length
    this.data = null
    this.checked = null
    if (this.fh) await (await this.fh.catch(() => null))?.close().catch(() => {})
    this.fh = null
  }
}

async function readAt(fh: fsp.FileHandle, offset: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length)
  let got = 0
  while (got < length) {
    const { bytesRead } = await fh.read(buf, got, length - got, offset + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return buf.subarray(0, got)
}

const STAGE = 1 << 20
const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 }

function decimalDigits(n: number): number {
  let d = 1
  for (; n >= 10; n = Math.floor(n / 10)) d++
  return d
}

/** Where the records of each 16-bit id prefix start in a sorted index: `[start[k], start[k + 1])`. */
function prefixStarts(idx: Uint8Array, at: number, n: number, size: number): Uint32Array {
  const start = new Uint32Array(65537)
  for (let i = 0, e = at; i < n; i++, e += size) start[((idx[e] << 8) | idx[e + 1]) + 1]++
  for (let k = 0; k < 65536; k++) start[k + 1] += start[k]
  return start
}

/**
 * Membership test over a sorted index, given where each 16-bit prefix starts in it (ids are
 * uniform: ~1 entry per prefix for 100k objects): byte compares in JS over that short run (no
 * native call).
 */
function indexLookup(idx: Buffer, start: Uint32Array): (b: Uint8Array, at: number) => boolean {
  return (b, at) => {
    const key = (b[at] << 8) | b[at + 1]
    for (let i = start[key], stop = start[key + 1]; i < stop; i++) {
      const e = 8 + i * REC
      let k = 2
      while (k < 20 && idx[e + k] === b[at + k]) k++
      if (k === 20) return true
    }
    return false
  }
}

/** A growing list of 20-byte ids (compact: no string per id). */
export class IdList {
  private buf = Buffer.allocUnsafe(20 * 1024)
  length = 0
  add(b: Uint8Array, at: number): void {
    if (this.buf.length < (this.length + 1) * 20) {
      const grown = Buffer.allocUnsafe(this.buf.length * 2)
      this.buf.copy(grown, 0, 0, this.length * 20)
      this.buf = grown
    }
    const buf = this.buf
    const to = this.length * 20
    for (let k = 0; k < 20; k++) buf[to + k] = b[at + k]
    this.length++
  }
  /** Adds `count` ids stored back to back in `b` from 0. */
  addMany(b: Uint8Array, count: number): void {
    const need = (this.length + count) * 20
    if (this.buf.length < need) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, need))
      this.buf.copy(grown, 0, 0, this.length * 20)
      this.buf = grown
    }
    this.buf.set(b.subarray(0, count * 20), this.length * 20)
    this.length += count
  }
  addHex(oid: Oid): void {
    this.add(Buffer.from(oid, 'hex'), 0)
  }
  /** The first id for which `test` is false, as hex; null when all pass. */
  firstFailing(test: (b: Uint8Array, at: number) => boolean): Oid | null {
    for (let i = 0; i < this.length; i++) if (!test(this.buf, i * 20)) return this.buf.toString('hex', i * 20, i * 20 + 20)
    return null
  }
}

/**
 * Builds one pack from objects given one at a time (ids verified by the caller): records go to a
 * temp data file through a 1 MiB staging buffer, index entries to a growing buffer (32 bytes per
 * object); `commit` sorts the index and renames both files into place, the index last. Also a
 * PackTarget for the pack reader: `get` reads an earlier object back (a delta base).
 */
export class PackWriter {
  private stage: Buffer
  private used = 0
  /** Data-file offset of stage[0]: everything before it is written or queued for writing. */
  private stageStart = 0
  /** Writes of full stages, in order; their number bounds the memory held. */
  private writes: Promise<void> = Promise.resolve()
  private queued = 0
  /** Stage buffers whose write finished, for reuse (fewer 1 MiB allocations on a big fetch). */
  private spare: Buffer[] = []
  /** Index entries in arrival order (own ArrayBuffer: aligned for word copies). */
  private ent = Buffer.from(new ArrayBuffer(REC * 1024))
  private byOid: Map<Oid, number> | null = null
  private done = false
  private name: string | null = null
  private idx: Buffer | null = null
  count = 0
  bytes = 0

  constructor(private readonly set: PackSet, private readonly tmp: string, private readonly fh: fsp.FileHandle, private readonly stageBytes = STAGE) {
    this.stage = Buffer.allocUnsafe(stageBytes)
  }

  private async writeAt(buf: Uint8Array, pos: number): Promise<void> {
    let done = 0
    while (done < buf.length) done += (await this.fh.write(buf, done, buf.length - done, pos + done)).bytesWritten
  }

  /** Queues `buf` (owned by the queue from now on) to be written at `pos` after the earlier writes; `reuse` takes it back after. */
  private queue(buf: Uint8Array, pos: number, reuse?: Buffer): void {
    this.queued++
    this.writes = this.writes.then(() => this.writeAt(buf, pos)).finally(() => {
      this.queued--
      if (reuse && this.spare.length < 2) this.spare.push(reuse)
    })
    this.writes.catch(() => {}) // surfaced by the next add that waits, or by commit
  }

  /** Hands the current stage to the write queue and starts a new one. */
  private rotate(): void {
    if (this.used === 0) return
    this.queue(this.stage.subarray(0, this.used), this.stageStart, this.stage)
    this.stageStart += this.used
    this.stage = this.spare.pop() ?? Buffer.allocUnsafe(this.stageBytes)
    this.used = 0
  }

  /** Makes room in the entry table for `n` more objects. */
  private roomFor(n: number): void {
    const need = (this.count + n) * REC
    if (this.ent.length >= need) return
    const grown = Buffer.from(new ArrayBuffer(Math.max(this.ent.length * 2, need)))
    this.ent.copy(grown, 0, 0, this.count * REC)
    this.ent = grown
  }

  /**
   * Appends one object; its index (for `get`) is `count` before the call. Synchronous unless the
   * write queue is long: then the promise slows the producer down. Safe with several producers.
   */
  add(oid: Oid, type: ObjectType, body: Uint8Array, owned?: boolean): void | Promise<void> {
    if (this.done) throw new Error('PackWriter already finished')
    const headLen = type.length + 2 + decimalDigits(body.length)
    const len = headLen + body.length
    this.roomFor(1)
    if (this.used + len > this.stage.length) this.rotate()
    const at = this.count * REC
    const offset = this.stageStart + this.used
    this.ent.write(oid, at, 20, 'hex')
    putPlace(this.ent, at, offset, len)
    this.byOid?.set(oid, this.count)
    this.count++
    this.bytes += len
    if (len <= this.stage.length) {
      this.used = writeObjectHeader(this.stage, TYPE_CODE[type], body.length, this.used)
      this.stage.set(body, this.used)
      this.used += body.length
    } else if (owned) {
      // Bigger than a stage and the body is ours to keep: written as it is after its header.
      const head = Buffer.allocUnsafe(headLen)
      writeObjectHeader(head, TYPE_CODE[type], body.length)
      this.queue(head, offset)
      this.queue(body, offset + headLen)
      this.stageStart += len
    } else {
      // Bigger than a stage: its own write (a copy: the body is only valid during this call).
      const rec = Buffer.allocUnsafe(len)
      writeObjectHeader(rec, TYPE_CODE[type], body.length)
      rec.set(body, headLen)
      this.queue(rec, offset)
      this.stageStart += len
    }
    if (this.queued > 2) return this.writes
  }

  /**
   * `add` for an object already laid out as its record (PackTarget.addRecord): `rec[start .. end)`
   * is `type size\0body` and `id[0 .. 20)` its binary id. Copies both as they are.
   */
  addRecord(oid: Oid, id: Uint8Array, _typeCode: number, rec: Uint8Array, start: number, _bodyAt: number, end: number): void | Promise<void> {
    if (this.done) throw new Error('PackWriter already finished')
    const len = end - start
    this.roomFor(1)
    if (this.used + len > this.stage.length) this.rotate()
    const ent = this.ent
    const at = this.count * REC
    const offset = this.stageStart + this.used
    for (let k = 0; k < 20; k++) ent[at + k] = id[k]
    putPlace(ent, at, offset, len)
    this.byOid?.set(oid, this.count)
    this.count++
    this.bytes += len
    if (len > this.stage.length) {
      // Bigger than a stage: its own write (a copy: the record is only valid during this call).
      this.queue(Uint8Array.prototype.slice.call(rec, start, end) as Uint8Array, offset)
      this.stageStart += len
    } else if (len <= 256) {
      const stage = this.stage
      for (let k = 0, o = this.used; k < len; k++) stage[o + k] = rec[start + k]
      this.used += len
    } else {
      this.stage.set(rec.subarray(start, end), this.used)
      this.used += len
    }
    if (this.queued > 2) return this.writes
  }

  /** `addRecord` for a whole batch of the pack worker (PackTarget.addBlock): one copy of its records, its ids as they are. */
  addBlock(block: PackBlock): void | Promise<void> {
    if (this.done) throw new Error('PackWriter already finished')
    const { n, meta, ids, data } = block
    if (n === 0) return
    const first = meta[2]
    const len = meta[(n - 1) * META + 4] - first
    this.roomFor(n)
    if (this.used + len > this.stage.length) this.rotate()
    let base: number
    if (len > this.stage.length) {
      base = this.stageStart - first
      this.queue(Uint8Array.prototype.slice.call(data, first, first + len) as Uint8Array, this.stageStart)
      this.stageStart += len
    } else {
      base = this.stageStart + this.used - first
      this.stage.set(data.subarray(first, first + len), this.used)
      this.used += len
    }
    const ent = this.ent
    for (let k = 0, e = 0, at = this.count * REC; k < n; k++, e += META, at += REC) {
      for (let j = 0; j < 20; j++) ent[at + j] = ids[k * 20 + j]
      putPlace(ent, at, base + meta[e + 2], meta[e + 4] - meta[e + 2])
      this.byOid?.set(ent.toString('hex', at, at + 20), this.count + k)
    }
    this.count += n
    this.bytes += len
    if (this.queued > 2) return this.writes
  }

  async get(n: number): Promise<{ type: ObjectType; body: Uint8Array }> {
    const at = n * REC
    const offset = this.ent.readUInt32BE(at + 20) * 2 ** 32 + this.ent.readUInt32BE(at + 24)
    const len = this.ent.readUInt32BE(at + 28)
    let rec: Buffer
    if (offset >= this.stageStart) rec = Buffer.from(this.stage.subarray(offset - this.stageStart, offset - this.stageStart + len))
    else {
      await this.writes
      rec = Buffer.allocUnsafe(len)
      let got = 0
      while (got < len) {
        const { bytesRead } = await this.fh.read(rec, got, len - got, offset + got)
        if (bytesRead === 0) throw new Error(`Short read in ${this.tmp}`)
        got += bytesRead
      }
    }
    const nul = rec.indexOf(0)
    const type = rec.toString('latin1', 0, rec.indexOf(0x20)) as ObjectType
    return { type, body: rec.subarray(nul + 1) }
  }

  find(oid: Oid): Promise<number | null> {
    if (!this.byOid) {
      this.byOid = new Map()
      for (let i = 0; i < this.count; i++) this.byOid.set(this.ent.toString('hex', i * REC, i * REC + 20), i)
    }
    return Promise.resolve(this.byOid.get(oid) ?? null)
  }

  /**
   * Index records sorted by id, duplicates dropped, and where each 16-bit id prefix starts in it:
   * each record goes to the run of its prefix, placed in order among the few already there (ids
   * are uniform: ~1–2 per run for 100k objects).
   */
  private sortedIndex(): { idx: Buffer; starts: Uint32Array } {
    const n = this.count
    const ent = this.ent
    const W = REC >> 2
    const starts = prefixStarts(ent, 0, n, REC)
    const next = starts.slice(0, 65536)
    const idx = Buffer.from(new ArrayBuffer(8 + n * REC))
    idx.write(MAGIC, 0, 'latin1')
    // Both buffers start on their own ArrayBuffer: records move as 32-bit words.
    const from = new Uint32Array(ent.buffer, ent.byteOffset, n * W)
    const to = new Uint32Array(idx.buffer, idx.byteOffset, idx.length >> 2)
    let dups = 0
    let long = false
    // (A record is REC = 32 bytes: the eight words copied below.)
    /** Where record `e` (byte offset in `ent`) goes among those of its run placed so far. */
    const place = (e: number, first: number, pos: number): number => {
      // Insertion (stable: a record equal to one placed earlier goes after it, and is a duplicate).
      for (; pos > first; pos--) {
        const p = 8 + (pos - 1) * REC
        let d = 0
        for (let k = 2; k < 20 && d === 0; k++) d = idx[p + k] - ent[e + k]
        if (d < 0) break
        if (d === 0) {
          dups++
          break
        }
        for (let w = 0, t = 2 + pos * W; w < W; w++, t++) to[t] = to[t - W]
      }
      return pos
    }
    for (let e = 0; e < n * REC; e += REC) {
      const key = (ent[e] << 8) | ent[e + 1]
      const first = starts[key]
      let pos = next[key]++
      if (starts[key + 1] - first > 32) long = true
      else if (pos > first) pos = place(e, first, pos)
      const t = 2 + pos * W
      const f = e >> 2
      to[t] = from[f]
      to[t + 1] = from[f + 1]
      to[t + 2] = from[f + 2]
      to[t + 3] = from[f + 3]
      to[t + 4] = from[f + 4]
      to[t + 5] = from[f + 5]
      to[t + 6] = from[f + 6]
      to[t + 7] = from[f + 7]
    }
    /** Compares the ids of index records x and y from byte 2 on (the run fixes bytes 0–1). */
    const cmp = (x: number, y: number): number => {
      const ax = 8 + x * REC
      const ay = 8 + y * REC
      for (let k = 2; k < 20; k++) {
        const d = idx[ax + k] - idx[ay + k]
        if (d !== 0) return d
      }
      return 0
    }
    if (long) {
      // Long runs (ids chosen to share a prefix): a stable n log n sort of their records, which
      // are in arrival order.
      for (let key = 0; key < 65536; key++) {
        const lo = starts[key]
        const hi = starts[key + 1]
        if (hi - lo <= 32) continue
        const order = Array.from({ length: hi - lo }, (_, j) => lo + j).sort(cmp)
        const copy = to.slice(2 + lo * W, 2 + hi * W)
        for (let j = 0; j < order.length; j++) to.set(copy.subarray((order[j] - lo) * W, (order[j] - lo + 1) * W), 2 + (lo + j) * W)
        for (let j = lo + 1; j < hi; j++) if (cmp(j - 1, j) === 0) dups++
      }
    }
    if (dups === 0) return { idx, starts }
    // Duplicates (one object sent twice) are adjacent: keep the first.
    let k = 0
    for (let i = 0; i < n; i++) {
      if (i > 0 && idx[8 + (i - 1) * REC] === idx[8 + i * REC] && idx[8 + (i - 1) * REC + 1] === idx[8 + i * REC + 1] && cmp(i - 1, i) === 0) continue
      if (k !== i) to.copyWithin(2 + k * W, 2 + i * W, 2 + (i + 1) * W)
      k++
    }
    const kept = idx.subarray(0, 8 + k * REC)
    return { idx: kept, starts: prefixStarts(kept, 8, k, REC) }
  }

  /**
   * Puts the pack in place (data file, then index). Nothing is visible before. `verify` runs
   * first with a lookup over the sorted index; when it throws, nothing is kept.
   */
  async commit(verify?: (has: (b: Uint8Array, at: number) => boolean) => void): Promise<void> {
    if (this.done) throw new Error('PackWriter already finished')
    this.done = true
    try {
      this.rotate()
      // Sorting and checking the index need no disk: done while the last writes finish.
      const { idx, starts } = this.sortedIndex()
      if (verify) verify(indexLookup(idx, starts))
      const name = createHash('sha1').update(idx).digest('hex')
      trace(`store: index of ${this.count} objects sorted and checked`)
      await this.writes
      await this.fh.close()
      this.name = name
      this.idx = idx
      const dir = this.set.dir
      await fsp.rename(this.tmp, join(dir, name + '.pack'))
      const tmpIdx = join(dir, `.${name}.idx.${process.pid}.${randomBytes(4).toString('hex')}`)
      await fsp.writeFile(tmpIdx, idx)
      await fsp.rename(tmpIdx, join(dir, name + '.idx'))
    } catch (err) {
      await this.writes.catch(() => {})
      await this.fh.close().catch(() => {})
      await fsp.rm(this.tmp, { force: true })
      throw err
    }
    this.set.added(this.name!, this.idx!)
  }

  /** Drops everything written so far. */
  async abort(): Promise<void> {
    if (this.done) return
    this.done = true
    await this.writes.catch(() => {})
    await this.fh.close().catch(() => {})
    await fsp.rm(this.tmp, { force: true })
  }
}

/**
 * A pack with more records than this is looked in for every id; a smaller one only for ids whose
 * first two bytes one of its records has. A broker writes a pack per fetch: a lookup tried each of
 * ~180 packs in turn (a tenth of a follower's CPU); now it tries the few big ones and one or two more.
 */
const BUCKETED_MAX = 4096

export class PackSet {
  private packs = new Map<string, PackFile>()
  /** Packs of more than BUCKETED_MAX records; the others by the first two bytes of their ids. */
  private big: PackFile[] = []
  private buckets: (PackFile[] | undefined)[] = []
  /** False once a pack was dropped: the lists are made again at the next lookup. */
  private indexed = false
  private scannedMtime = -1
  readonly dir: string

  constructor(dbDir: string) {
    this.dir = join(dbDir, 'packs')
  }

  /** Bumped whenever the set changes. */
  private version = 0
  private scanning: Promise<void> | null = null
  /** When the last scan began (performance.now()). */
  private scannedAt = -Infinity
  private nextScan: Promise<void> | null = null

  /**
   * Re-reads the list of packs when the directory changed (another process wrote one); true when
   * the set changed since the call. One scan at a time: two at once would each open the same new
   * pack and drop one unclosed. A scan already under way may have missed what changed since, so a
   * caller waits for it and then for one more, shared by everyone who came meanwhile.
   */
  async refresh(options: { within?: number } = {}): Promise<boolean> {
    // A caller that only saves a request by knowing (what is missing is fetched, or found stored by
    // the fetcher) takes a list at most `within` ms old: with a broker writing a pack per request,
    // each look re-read a directory of thousands of packs.
    if (options.within !== undefined && !this.scanning && performance.now() - this.scannedAt < options.within) return false
    const before = this.version
    if (!this.scanning) await this.scan()
    else {
      this.nextScan ??= this.scanning.catch(() => {}).then(() => ((this.nextScan = null), this.scan()))
      await this.nextScan
    }
    return this.version !== before
  }

  private scan(): Promise<void> {
    this.scanning = this.rescan()
      .then((changed) => void (changed && this.version++))
      .finally(() => (this.scanning = null))
    return this.scanning
  }

  private async rescan(): Promise<boolean> {
    this.scannedAt = performance.now()
    const st = await fsp.stat(this.dir).catch(() => null)
    if (!st || st.mtimeMs === this.scannedMtime) return false
    // A directory's mtime ticks coarsely (a few ms): a pack another process adds in the same tick
    // as the scan leaves it unchanged. A recent mtime is therefore not trusted to mean "no change".
    this.scannedMtime = Date.now() - st.mtimeMs > 1000 ? st.mtimeMs : -1
    // Only packs known before the listing can be missing from it: one added meanwhile (written
    // here, or adopted) may have come after the directory was read.
    const known = new Set(this.packs.keys())
    const names = new Set((await fsp.readdir(this.dir)).filter((n) => n.endsWith('.idx')).map((n) => n.slice(0, -4)))
    let changed = false
    for (const [name, p] of this.packs) {
      if (known.has(name) && !names.has(name)) {
        await p.close()
        this.drop(name)
        changed = true
      }
    }
    for (const name of names) if (await this.load(name)) changed = true
    return changed
  }

  /** Opens the pack `name` unless it is known or not a complete pack here; true when it was added. */
  private async load(name: string): Promise<boolean> {
    if (this.packs.has(name)) return false
    const idx = await fsp.readFile(join(this.dir, name + '.idx')).catch(() => null)
    if (!idx || idx.toString('latin1', 0, 8) !== MAGIC || (idx.length - 8) % REC !== 0 || this.packs.has(name)) return false
    this.put(name, new PackFile(name, this.dir, idx))
    return true
  }

  /**
   * Takes in packs known by name (a broker's answer names the packs it stored a follower's objects
   * in) without listing the directory. A name that is not a complete pack here is skipped.
   */
  async adopt(names: string[]): Promise<void> {
    for (const name of names) if (isOid(name) && (await this.load(name))) this.version++
  }

  locate(oid: Oid): PackLoc | null {
    if (this.packs.size === 0 || !hexToBytes(oid, KEY)) return null
    if (!this.indexed) this.reindex()
    for (const p of this.big) {
      const i = p.indexOf(KEY)
      if (i >= 0) return { pack: p, index: i, offset: p.offsetAt(i), length: p.lengthAt(i) }
    }
    const small = this.buckets[(KEY[0] << 8) | KEY[1]]
    if (small) {
      for (const p of small) {
        const i = p.indexOf(KEY)
        if (i >= 0) return { pack: p, index: i, offset: p.offsetAt(i), length: p.lengthAt(i) }
      }
    }
    return null
  }

  private put(name: string, p: PackFile): void {
    this.packs.set(name, p)
    if (this.indexed) this.index(p)
  }

  private drop(name: string): boolean {
    if (!this.packs.delete(name)) return false
    this.indexed = false
    return true
  }

  private reindex(): void {
    this.big = []
    this.buckets = new Array(65536)
    for (const p of this.packs.values()) this.index(p)
    this.indexed = true
  }

  private index(p: PackFile): void {
    if (p.count > BUCKETED_MAX) return void this.big.push(p)
    const idx = p.idx
    let last = -1
    for (let i = 0, e = 8; i < p.count; i++, e += REC) {
      const b = (idx[e] << 8) | idx[e + 1]
      if (b === last) continue
      last = b
      const list = this.buckets[b]
      if (list) list.push(p)
      else this.buckets[b] = [p]
    }
  }

  all(): PackFile[] {
    return [...this.packs.values()]
  }

  /** Writes objects (ids verified by the caller) as one pack + index. */
  async write(objs: { oid: Oid; type: ObjectType; body: Uint8Array }[]): Promise<void> {
    const w = await this.begin()
    try {
      for (const o of objs) await w.add(o.oid, o.type, o.body)
      await w.commit()
    } catch (err) {
      await w.abort()
      throw err
    }
  }

  /** A pack written as objects arrive (streamed to a temp file); visible to readers only after `commit`. */
  async begin(options: { stageBytes?: number } = {}): Promise<PackWriter> {
    await fsp.mkdir(this.dir, { recursive: true })
    const tmp = join(this.dir, `.incoming.${process.pid}.${randomBytes(4).toString('hex')}`)
    return new PackWriter(this, tmp, await fsp.open(tmp, 'w+'), options.stageBytes)
  }

  /** Called by PackWriter.commit once both files are in place (no need to read the index back). */
  added(name: string, idx: Buffer): void {
    if (!this.packs.has(name)) this.put(name, new PackFile(name, this.dir, idx)), this.version++
  }

  async remove(name: string): Promise<void> {
    const p = this.packs.get(name)
    await p?.close()
    if (this.drop(name)) this.version++
    await fsp.rm(join(this.dir, name + '.idx'), { force: true })
    await fsp.rm(join(this.dir, name + '.pack'), { force: true })
  }

  async close(): Promise<void> {
    for (const p of this.packs.values()) await p.close()
  }
}
