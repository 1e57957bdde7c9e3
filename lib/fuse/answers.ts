// Answers the reader threads give without waking the main thread.
//
// A request that crosses from a reader thread to the main thread costs one more thread wake-up
// than one answered where it was read; on this 2-core machine that hop was most of a round trip
// (a trivial LOOKUP: ~57k/s answered in the reader thread, ~17-25k/s through the main thread,
// 37k/s for libfuse's C passthrough_ll). So replies the file system marks `stable` (LOOKUP,
// GETATTR, and "end of directory" for READDIR/READDIRPLUS) are kept, already encoded, in one
// SharedArrayBuffer, and a reader thread that reads the same question again answers it itself.
//
// Correctness rests on one epoch counter: every request that may change anything (all but the
// read-only opcodes), every FORGET and every notification moves it forward, at its start and again
// just before its reply, and an answer is only given while the epoch it was published under is
// current. A reply is published under the epoch read when its request was dispatched, so an answer
// computed while a change was under way is never given.
//
// Lookup counts: each LOOKUP a reader answers adds one kernel reference the file system never saw.
// The reader queues that inode (before it checks the epoch, so the main thread, which drains the
// queues after moving the epoch, never misses one it answered), and the main thread takes those
// references out of FORGETs first, passing the file system only its own share.
//
// Layout (one SharedArrayBuffer): Int32 header [epoch, attribute slots in use, attribute slots at
// most, entry slots in use], one queue per reader (head, tail, ring of inode numbers as two i32
// each: low 32 bits, then high bits × 2 + 1 when it cancels one), then two tables of slots in
// buckets of 8 (a key goes to either of two buckets, any of their slots): attributes (GETATTR replies and
// directory ends) and entries (LOOKUP replies, with their names). A slot is i32 seq (odd while
// being written), epoch, opcode (GETATTR also keys a directory's end), nodeid low, nodeid high,
// extra (LOOKUP: name length; GETATTR: the directory's end offset + 1, 0 unknown), body length
// (0: attributes unknown), counted nodeid low and high (LOOKUP: the child), then the reply body
// (fuse_attr_out, 104 bytes; fuse_entry_out, 128) and, for LOOKUP, the name (≤ 64 bytes). Inode
// numbers are below 2^53 (raw_fs.ts), so the high part fits an i32. Each table starts small and
// doubles (rehashing what it holds) when three quarters full, so its resident memory follows what
// was published: pages of a SharedArrayBuffer are only touched as slots are written.
import { ATTR_OUT_SIZE, ENTRY_OUT_SIZE, OPCODE } from './kernel.ts'

const QUEUE_LEN = 4096
const QUEUE_INTS = 2 + 2 * QUEUE_LEN
const MAX_READERS = 16
const QUEUES_BASE = 16 // int index
const SLOTS_BASE = 64 * Math.ceil((4 * (QUEUES_BASE + MAX_READERS * QUEUE_INTS)) / 64) // bytes
const META = 48
const ATTR_SLOT = META + 104
const ENTRY_SLOT = META + 128 + 64
const NAME_OFF = META + 128
const MAX_NAME = 64
const WAYS = 8
/** Attribute slots: at most room for the directories of a 250k-directory tree (152 bytes a slot). */
const MAX_ATTR_SLOTS = 1 << 18
/** Entry slots (240 bytes): LOOKUPs only repeat where the file system gives short entry timeouts. */
const MAX_ENTRY_SLOTS = 1 << 16
const FIRST_SLOTS = 1 << 10
const H_EPOCH = 0
const H_ATTR_SLOTS = 1
const H_ATTR_MAX = 2
const H_ENTRY_SLOTS = 3


/** Opcodes that never change what a LOOKUP, GETATTR or READDIR would answer (OPEN: unless it
 *  writes or truncates, see changesState). */
const READ_ONLY = new Set<number>([
  OPCODE.LOOKUP, OPCODE.GETATTR, OPCODE.READLINK, OPCODE.OPEN, OPCODE.READ, OPCODE.STATFS,
  OPCODE.RELEASE, OPCODE.FSYNC, OPCODE.GETXATTR, OPCODE.LISTXATTR, OPCODE.FLUSH,
  OPCODE.OPENDIR, OPCODE.READDIR, OPCODE.RELEASEDIR, OPCODE.FSYNCDIR, OPCODE.ACCESS,
  OPCODE.INTERRUPT, OPCODE.POLL, OPCODE.READDIRPLUS, OPCODE.LSEEK,
])

/** Whether a request may change an answer: any opcode but the read-only ones, and an OPEN for
 *  writing or with O_TRUNC (copy-up, truncation). `input` is the decoded request. */
export function changesState(opcode: number, input: unknown): boolean {
  if (opcode === OPCODE.OPEN) {
    const flags = (input as { flags?: number }).flags ?? 0
    return (flags & 3) !== 0 || (flags & 0o1000) !== 0
  }
  return !READ_ONLY.has(opcode)
}

// The same hash on both sides: written once, as source the reader threads also evaluate.
const HASH_SOURCE = `
function answerHash(op, lo, hi, bytes, start, len) {
  let h = Math.imul(op ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(lo, 0xc2b2ae35) ^ Math.imul(hi, 0x27d4eb2f)
  for (let k = start; k < start + len; k++) h = Math.imul(h ^ bytes[k], 0x01000193)
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d); h ^= h >>> 12
  return h >>> 0
}
function otherBucket(h) {
  h = Math.imul(h ^ (h >>> 16), 0x45d9f3b)
  return (h ^ (h >>> 13)) >>> 0
}
`
const [answerHash, otherBucket] = new Function(`${HASH_SOURCE}; return [answerHash, otherBucket]`)() as [
  (op: number, lo: number, hi: number, bytes: Uint8Array, start: number, len: number) => number,
  (h: number) => number,
]

/** Reader-thread side, as plain JavaScript for the eval'd reader source: defines
 *  `makeAnswerer(buffer, reader)`, returning `answer(req, n, out)` → reply
 *  length written into `out` (0: not answerable here, give it to the main thread). */
export const ANSWERER_SOURCE = `
${HASH_SOURCE}
function makeAnswerer(buffer, reader) {
  const I = new Int32Array(buffer)
  const B = new Uint8Array(buffer)
  const q = ${QUEUES_BASE} + reader * ${QUEUE_INTS}
  const entryBase = ${SLOTS_BASE} + I[${H_ATTR_MAX}] * ${ATTR_SLOT}
  // A reference is queued only with room for its cancellation behind it.
  const push = (lo, hi2, room) => {
    const head = Atomics.load(I, q), tail = I[q + 1]
    if (tail - head > ${QUEUE_LEN} - room) return false
    const at = q + 2 + 2 * (tail % ${QUEUE_LEN})
    I[at] = lo
    I[at + 1] = hi2
    Atomics.store(I, q + 1, tail + 1)
    return true
  }
  return function answer(req, n, out) {
    const op = req[4] | (req[5] << 8) | (req[6] << 16) | (req[7] << 24)
    if (op !== ${OPCODE.LOOKUP} && op !== ${OPCODE.GETATTR} && op !== ${OPCODE.READDIR} && op !== ${OPCODE.READDIRPLUS}) return 0
    const lo = req[16] | (req[17] << 8) | (req[18] << 16) | (req[19] << 24)
    const hi = req[20] | (req[21] << 8) | (req[22] << 16) | (req[23] << 24)
    const lookup = op === ${OPCODE.LOOKUP}
    let nameLen = 0
    if (lookup) {
      nameLen = n - 41
      if (req[36] | req[37]) return 0
      if (nameLen <= 0 || nameLen > ${MAX_NAME} || req[n - 1] !== 0) return 0
    }
    const dirEnd = op === ${OPCODE.READDIR} || op === ${OPCODE.READDIRPLUS}
    const key = dirEnd ? ${OPCODE.GETATTR} : op
    const h = answerHash(key, lo, hi, req, 40, nameLen)
    const size = lookup ? ${ENTRY_SLOT} : ${ATTR_SLOT}
    const slots = Atomics.load(I, lookup ? ${H_ENTRY_SLOTS} : ${H_ATTR_SLOTS})
    for (let b = 0; b < 2; b++) {
    const first = (lookup ? entryBase : ${SLOTS_BASE}) + ((b === 0 ? h : otherBucket(h)) & (slots - 1) & ~${WAYS - 1}) * size
    for (let w = 0; w < ${WAYS}; w++) {
      const slot = first + w * size
      const i = slot >> 2
      const seq = Atomics.load(I, i)
      if (seq & 1 || I[i + 2] !== key || I[i + 3] !== lo || I[i + 4] !== hi) continue
      let bodyLen = 0
      if (lookup) {
        if (I[i + 5] !== nameLen) continue
        let same = true
        for (let k = 0; k < nameLen && same; k++) same = B[slot + ${NAME_OFF} + k] === req[40 + k]
        if (!same) continue
      }
      if (dirEnd) {
        if (req[52] | req[53] | req[54] | req[55]) return 0
        const off = req[48] | (req[49] << 8) | (req[50] << 16) | (req[51] << 24)
        if (I[i + 5] === 0 || off !== I[i + 5] - 1) return 0
      } else {
        bodyLen = I[i + 6]
        if (bodyLen <= 0 || bodyLen > 128) return 0
        for (let k = 0, from = slot + ${META}; k < bodyLen; k++) out[16 + k] = B[from + k]
      }
      const epoch = I[i + 1]
      const cLo = I[i + 7], cHi = I[i + 8]
      if (Atomics.load(I, i) !== seq) return 0
      if (lookup && !push(cLo, cHi * 2, 2)) return 0
      if (epoch !== Atomics.load(I, ${H_EPOCH})) {
        if (lookup) push(cLo, cHi * 2 + 1, 1)
        return 0
      }
      const len = 16 + bodyLen
      out[0] = len; out[1] = len >> 8; out[2] = 0; out[3] = 0
      out[4] = 0; out[5] = 0; out[6] = 0; out[7] = 0
      for (let k = 8; k < 16; k++) out[k] = req[k]
      return len
    }
    }
    return 0
  }
}
`

export interface AnswerCacheSizes {
  /** Slots each table starts with (it doubles as needed up to its maximum); powers of two ≥ 8. */
  firstSlots?: number
  maxAttrSlots?: number
  maxEntrySlots?: number
}

/** One table of slots: where it starts, its slot size, how many slots it uses now and at most. */
interface Table {
  base: number
  size: number
  slots: number
  max: number
  header: number
  /** Slots taken since the last count (an upper bound of those holding a current answer). */
  filled: number
}

/** Main-thread side: publishes stable replies, moves the epoch, and settles lookup counts. */
export class AnswerCache {
  readonly buffer: SharedArrayBuffer
  private readonly i32: Int32Array
  private readonly u8: Uint8Array
  private readonly attrs: Table
  private readonly entries: Table
  /** Kernel references taken by reader-thread answers, by inode, not yet forgotten. */
  private readonly lent = new Map<number, number>()
  private readers = 0
  private victim = 0

  constructor(sizes: AnswerCacheSizes = {}) {
    const maxA = sizes.maxAttrSlots ?? MAX_ATTR_SLOTS
    const maxE = sizes.maxEntrySlots ?? MAX_ENTRY_SLOTS
    const first = sizes.firstSlots ?? FIRST_SLOTS
    for (const n of [maxA, maxE, first]) {
      if (n < WAYS || n & (n - 1)) throw new Error(`AnswerCache: slot counts must be powers of two ≥ ${WAYS}`)
    }
    this.attrs = { base: SLOTS_BASE, size: ATTR_SLOT, slots: Math.min(first, maxA), max: maxA, header: H_ATTR_SLOTS, filled: 0 }
    const entryBase = SLOTS_BASE + maxA * ATTR_SLOT
    this.entries = { base: entryBase, size: ENTRY_SLOT, slots: Math.min(first, maxE), max: maxE, header: H_ENTRY_SLOTS, filled: 0 }
    this.buffer = new SharedArrayBuffer(entryBase + maxE * ENTRY_SLOT)
    this.i32 = new Int32Array(this.buffer)
    this.u8 = new Uint8Array(this.buffer)
    this.i32[H_ATTR_SLOTS] = this.attrs.slots
    this.i32[H_ATTR_MAX] = maxA
    this.i32[H_ENTRY_SLOTS] = this.entries.slots
  }

  /** Index for the next reader thread (each has its own queue). */
  addReader(): number {
    if (this.readers >= MAX_READERS) throw new Error(`AnswerCache: at most ${MAX_READERS} readers`)
    return this.readers++
  }

  get epoch(): number {
    return Atomics.load(this.i32, H_EPOCH)
  }

  /** Every answer published so far stops being given. */
  bump(): void {
    Atomics.add(this.i32, H_EPOCH, 1)
  }

  /** A LOOKUP reply (fuse_entry_out bytes) for `name` in `parent`. */
  putEntry(epoch: number, parent: number, name: Uint8Array, entryOut: Uint8Array): void {
    const child = readU64(entryOut, 0)
    if (name.length === 0 || name.length > MAX_NAME || entryOut.length !== ENTRY_OUT_SIZE) return
    if (!validIno(parent) || !validIno(child)) return
    this.put(epoch, OPCODE.LOOKUP, parent, name, -1, entryOut, child)
  }

  /** A GETATTR reply body (fuse_attr_out) for `ino`. */
  putAttr(epoch: number, ino: number, attrOut: Uint8Array): void {
    if (!validIno(ino) || attrOut.length !== ATTR_OUT_SIZE) return
    this.put(epoch, OPCODE.GETATTR, ino, undefined, -1, attrOut, 0)
  }

  /** The GETATTR reply implied by a fuse_entry_out (from LOOKUP or READDIRPLUS). */
  putAttrFromEntry(epoch: number, entryOut: Uint8Array): void {
    const ino = readU64(entryOut, 0)
    if (!validIno(ino) || entryOut.length < ENTRY_OUT_SIZE) return
    const body = this.scratch
    body.set(entryOut.subarray(24, 32), 0) // attr_valid
    body.set(entryOut.subarray(36, 40), 8) // attr_valid_nsec
    body.set(entryOut.subarray(40, 128), 16) // fuse_attr
    this.put(epoch, OPCODE.GETATTR, ino, undefined, -1, body, 0)
  }

  private readonly scratch = new Uint8Array(ATTR_OUT_SIZE)

  /** READDIR or READDIRPLUS of directory `ino` at `endOffset` finds its end (both flavours: with
   *  READDIRPLUS_AUTO the kernel asks for the end with a plain READDIR). Kept beside its attributes. */
  putDirEnd(epoch: number, ino: number, endOffset: number): void {
    if (!validIno(ino) || endOffset < 0 || endOffset >= 0x7fff_ffff) return
    this.put(epoch, OPCODE.GETATTR, ino, undefined, endOffset, undefined, 0)
  }

  /** `end` ≥ 0: a directory end (the slot's attributes, if current, stay); else `body` is new
   *  attributes (the slot's directory end, if current, stays). */
  private put(epoch: number, op: number, nodeid: number, name: Uint8Array | undefined, end: number, body: Uint8Array | undefined, counted: number): void {
    if (epoch !== this.epoch) return
    const I = this.i32
    const lo = nodeid | 0, hi = Math.floor(nodeid / 2 ** 32)
    const slot = this.place(op, lo, hi, name, epoch)
    const i = slot >> 2
    const held = op === OPCODE.GETATTR && I[i + 2] === op && I[i + 3] === lo && I[i + 4] === hi && I[i + 1] === epoch
    Atomics.add(I, i, 1) // odd: readers skip the slot while it changes
    I[i + 1] = epoch
    I[i + 2] = op
    I[i + 3] = lo
    I[i + 4] = hi
    if (op === OPCODE.LOOKUP) I[i + 5] = name!.length
    else if (end >= 0) I[i + 5] = end + 1
    else if (!held) I[i + 5] = 0
    if (body) {
      I[i + 6] = body.length
      this.u8.set(body, slot + META)
    } else if (!held) {
      I[i + 6] = 0
    }
    I[i + 7] = counted | 0
    I[i + 8] = Math.floor(counted / 2 ** 32)
    if (name) this.u8.set(name, slot + NAME_OFF)
    Atomics.add(I, i, 1)
    const t = op === OPCODE.LOOKUP ? this.entries : this.attrs
    if (t.filled > 0.75 * t.slots && t.slots < t.max) this.grow(t)
  }

  /** The slot for a key: the one already holding it, else one holding nothing current, else one
   *  of its bucket in turn. */
  private place(op: number, lo: number, hi: number, name: Uint8Array | undefined, epoch: number): number {
    const I = this.i32
    const lookup = op === OPCODE.LOOKUP
    const t = lookup ? this.entries : this.attrs
    const h = answerHash(op, lo, hi, name ?? EMPTY, 0, name?.length ?? 0)
    // Two buckets a key may live in (the reader checks both): a full one rarely means eviction.
    const firsts = [h, otherBucket(h)].map((x) => t.base + (x & (t.slots - 1) & ~(WAYS - 1)) * t.size)
    for (const first of firsts) {
      for (let w = 0; w < WAYS; w++) {
        const slot = first + w * t.size
        const i = slot >> 2
        if (I[i + 2] === op && I[i + 3] === lo && I[i + 4] === hi && (!lookup || this.sameName(slot, name!))) return slot
      }
    }
    for (const first of firsts) {
      for (let w = 0; w < WAYS; w++) {
        const slot = first + w * t.size
        const i = slot >> 2
        if (I[i + 2] === 0 || I[i + 1] !== epoch) {
          t.filled++
          return slot
        }
      }
    }
    const v = this.victim++
    return firsts[v & 1] + ((v >> 1) % WAYS) * t.size
  }

  /** Doubles a table if its current answers fill half of it. In place: an answer whose bucket is
   *  still one of its two moves to a free slot of the new ones (the upper half starts empty), so
   *  nothing is copied out; readers may miss an answer while it moves, never get a wrong one. */
  private grow(t: Table): void {
    const I = this.i32
    const epoch = this.epoch
    let live = 0
    for (let k = 0; k < t.slots; k++) {
      const i = (t.base + k * t.size) >> 2
      if (I[i + 2] !== 0 && I[i + 1] === epoch) live++
    }
    t.filled = live
    if (live <= 0.5 * t.slots) return
    const old = t.slots
    t.slots *= 2
    Atomics.store(I, t.header, t.slots)
    t.filled = 0
    const bucketMask = (t.slots - 1) & ~(WAYS - 1)
    for (let k = 0; k < old; k++) {
      const slot = t.base + k * t.size
      const i = slot >> 2
      const op = I[i + 2]
      if (op === 0) continue
      if (I[i + 1] !== epoch) {
        this.clear(slot)
        continue
      }
      const name = op === OPCODE.LOOKUP ? this.u8.subarray(slot + NAME_OFF, slot + NAME_OFF + I[i + 5]) : EMPTY
      const h = answerHash(op, I[i + 3], I[i + 4], name, 0, name.length)
      const b1 = h & bucketMask, b2 = otherBucket(h) & bucketMask, at = k & ~(WAYS - 1)
      if (at === b1 || at === b2) {
        t.filled++
        continue
      }
      const dest = this.freeSlot(t, b1, epoch, slot) ?? this.freeSlot(t, b2, epoch, slot)
      if (dest !== undefined) {
        const d = dest >> 2
        Atomics.add(I, d, 1)
        this.u8.copyWithin(dest + 4, slot + 4, slot + t.size)
        Atomics.add(I, d, 1)
        t.filled++
      }
      this.clear(slot)
    }
  }

  /** A slot of bucket `bucket` (a slot index) holding nothing current, other than `not`. */
  private freeSlot(t: Table, bucket: number, epoch: number, not: number): number | undefined {
    for (let w = 0; w < WAYS; w++) {
      const slot = t.base + (bucket + w) * t.size
      const i = slot >> 2
      if (slot !== not && (this.i32[i + 2] === 0 || this.i32[i + 1] !== epoch)) return slot
    }
    return undefined
  }

  private clear(slot: number): void {
    const i = slot >> 2
    Atomics.add(this.i32, i, 1)
    this.i32[i + 2] = 0
    Atomics.add(this.i32, i, 1)
  }

  private sameName(slot: number, name: Uint8Array): boolean {
    if (this.i32[(slot >> 2) + 5] !== name.length) return false
    for (let k = 0; k < name.length; k++) if (this.u8[slot + NAME_OFF + k] !== name[k]) return false
    return true
  }

  /** Collects the lookups reader threads answered since the last call. */
  drain(): void {
    const I = this.i32
    for (let r = 0; r < this.readers; r++) {
      const q = QUEUES_BASE + r * QUEUE_INTS
      let head = I[q]
      const tail = Atomics.load(I, q + 1)
      if (head === tail) continue
      for (; head !== tail; head++) {
        const at = q + 2 + 2 * (head % QUEUE_LEN)
        const hi2 = I[at + 1]
        const ino = (hi2 >>> 1) * 2 ** 32 + (I[at] >>> 0)
        const n = (this.lent.get(ino) ?? 0) + (hi2 & 1 ? -1 : 1)
        if (n > 0) this.lent.set(ino, n)
        else this.lent.delete(ino)
      }
      Atomics.store(I, q, head)
    }
  }

  /** Of `nlookup` references the kernel gives back for `ino`, how many were the file system's. */
  forgotten(ino: number, nlookup: number): number {
    const lent = this.lent.get(ino)
    if (!lent) return nlookup
    const mine = Math.min(lent, nlookup)
    if (lent === mine) this.lent.delete(ino)
    else this.lent.set(ino, lent - mine)
    return nlookup - mine
  }
}

const EMPTY = new Uint8Array(0)

function readU64(b: Uint8Array, off: number): number {
  const lo = (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0
  const hi = (b[off + 4] | (b[off + 5] << 8) | (b[off + 6] << 16) | (b[off + 7] << 24)) >>> 0
  return hi * 2 ** 32 + lo
}

function validIno(ino: number): boolean {
  return ino > 0 && Number.isSafeInteger(ino)
}
