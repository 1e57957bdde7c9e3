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
// Layout (one SharedArrayBuffer): Int32 header [epoch], one queue per reader (head, tail, ring of
// inode numbers; a negative number cancels one), then SLOTS direct-mapped slots of SLOT_BYTES:
//   i32 seq (odd while being written), epoch, opcode, nodeid, extra (LOOKUP: name length;
//   READDIR*: end offset), body length, counted nodeid (LOOKUP: the child), 0; then the reply
//   body (up to 128 bytes: fuse_entry_out or fuse_attr_out) and, for LOOKUP, the name (≤ 64 bytes).

const QUEUE_LEN = 4096
const QUEUE_INTS = 2 + QUEUE_LEN
const MAX_READERS = 16
const QUEUES_BASE = 16 // int index
const SLOTS_BASE = 4 * (QUEUES_BASE + MAX_READERS * QUEUE_INTS) // byte offset, 64-aligned below
const SLOT_BYTES = 224
const BODY_OFF = 32
const NAME_OFF = 160
const MAX_BODY = 128
const MAX_NAME = 64
const DEFAULT_SLOTS = 1 << 17

const OP_LOOKUP = 1
const OP_GETATTR = 3
const OP_READDIR = 28
const OP_READDIRPLUS = 44
const ENTRY_OUT_SIZE = 128
const ATTR_OUT_SIZE = 104

/** Opcodes that never change what a LOOKUP, GETATTR or READDIR would answer (OPEN: unless it
 *  writes or truncates, checked by the session). */
const READ_ONLY = new Set([
  OP_LOOKUP, OP_GETATTR, 5 /* READLINK */, 14 /* OPEN */, 15 /* READ */, 17 /* STATFS */,
  18 /* RELEASE */, 20 /* FSYNC */, 22 /* GETXATTR */, 23 /* LISTXATTR */, 25 /* FLUSH */,
  27 /* OPENDIR */, OP_READDIR, 29 /* RELEASEDIR */, 30 /* FSYNCDIR */, 34 /* ACCESS */,
  36 /* INTERRUPT */, 40 /* POLL */, OP_READDIRPLUS, 46 /* LSEEK */,
])

export function changesState(opcode: number): boolean {
  return !READ_ONLY.has(opcode)
}

function slotsBase(): number {
  return Math.ceil(SLOTS_BASE / 64) * 64
}

// The same hash on both sides: written once, as source the reader threads also evaluate.
const HASH_SOURCE = `
function answerHash(op, nodeid, bytes, start, len) {
  let h = Math.imul(op ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(nodeid, 0xc2b2ae35)
  for (let k = start; k < start + len; k++) h = Math.imul(h ^ bytes[k], 0x01000193)
  h ^= h >>> 15; h = Math.imul(h, 0x2c1b3c6d); h ^= h >>> 12
  return h >>> 0
}
`
const answerHash = new Function(`${HASH_SOURCE}; return answerHash`)() as (op: number, nodeid: number, bytes: Uint8Array, start: number, len: number) => number

/** Reader-thread side, as plain JavaScript for the eval'd reader source: defines
 *  `makeAnswerer(buffer, slots, reader)`, returning `answer(req, n, out)` → reply length written
 *  into `out` (0: not answerable here, give it to the main thread). */
export const ANSWERER_SOURCE = `
${HASH_SOURCE}
function makeAnswerer(buffer, nslots, reader) {
  const I = new Int32Array(buffer)
  const B = new Uint8Array(buffer)
  const q = ${QUEUES_BASE} + reader * ${QUEUE_INTS}
  const base = ${slotsBase()}
  const push = (v) => {
    const head = Atomics.load(I, q), tail = I[q + 1]
    if (tail - head >= ${QUEUE_LEN}) return false
    I[q + 2 + (tail % ${QUEUE_LEN})] = v
    Atomics.store(I, q + 1, tail + 1)
    return true
  }
  return function answer(req, n, out) {
    const op = req[4] | (req[5] << 8) | (req[6] << 16) | (req[7] << 24)
    if (op !== ${OP_LOOKUP} && op !== ${OP_GETATTR} && op !== ${OP_READDIR} && op !== ${OP_READDIRPLUS}) return 0
    if (req[20] | req[21] | req[22] | req[23] | (req[19] & 0x80)) return 0
    const nodeid = req[16] | (req[17] << 8) | (req[18] << 16) | (req[19] << 24)
    let nameLen = 0
    if (op === ${OP_LOOKUP}) {
      nameLen = n - 41
      if (req[36] | req[37]) return 0
      if (nameLen <= 0 || nameLen > ${MAX_NAME} || req[n - 1] !== 0) return 0
    }
    const slot = base + (answerHash(op, nodeid, req, 40, nameLen) & (nslots - 1)) * ${SLOT_BYTES}
    const i = slot >> 2
    const seq = Atomics.load(I, i)
    if (seq & 1) return 0
    if (I[i + 2] !== op || I[i + 3] !== nodeid) return 0
    let bodyLen = 0
    if (op === ${OP_LOOKUP}) {
      if (I[i + 4] !== nameLen) return 0
      for (let k = 0; k < nameLen; k++) if (B[slot + ${NAME_OFF} + k] !== req[40 + k]) return 0
    }
    if (op === ${OP_READDIR} || op === ${OP_READDIRPLUS}) {
      if (req[52] | req[53] | req[54] | req[55]) return 0
      const off = req[48] | (req[49] << 8) | (req[50] << 16) | (req[51] << 24)
      if (off !== I[i + 4]) return 0
    } else {
      bodyLen = I[i + 5]
      if (bodyLen <= 0 || bodyLen > ${MAX_BODY}) return 0
      out.set(B.subarray(slot + ${BODY_OFF}, slot + ${BODY_OFF} + bodyLen), 16)
    }
    const epoch = I[i + 1]
    const counted = I[i + 6]
    if (Atomics.load(I, i) !== seq) return 0
    if (counted !== 0 && !push(counted)) return 0
    if (epoch !== Atomics.load(I, 0)) {
      if (counted !== 0) push(-counted)
      return 0
    }
    const len = 16 + bodyLen
    out[0] = len; out[1] = len >> 8; out[2] = 0; out[3] = 0
    out[4] = 0; out[5] = 0; out[6] = 0; out[7] = 0
    for (let k = 8; k < 16; k++) out[k] = req[k]
    return len
  }
}
`

/** Main-thread side: publishes stable replies, moves the epoch, and settles lookup counts. */
export class AnswerCache {
  readonly buffer: SharedArrayBuffer
  readonly slots: number
  private readonly i32: Int32Array
  private readonly u8: Uint8Array
  private readonly base = slotsBase()
  /** Kernel references taken by reader-thread answers, by inode, not yet forgotten. */
  private readonly lent = new Map<number, number>()
  private readers = 0

  constructor(slots = DEFAULT_SLOTS) {
    if (slots & (slots - 1)) throw new Error('AnswerCache: slots must be a power of two')
    this.slots = slots
    // Pages are only touched as slots fill, so the resident cost grows with use.
    this.buffer = new SharedArrayBuffer(this.base + slots * SLOT_BYTES)
    this.i32 = new Int32Array(this.buffer)
    this.u8 = new Uint8Array(this.buffer)
  }

  /** Index for the next reader thread (each has its own queue). */
  addReader(): number {
    if (this.readers >= MAX_READERS) throw new Error(`AnswerCache: at most ${MAX_READERS} readers`)
    return this.readers++
  }

  get epoch(): number {
    return Atomics.load(this.i32, 0)
  }

  /** Every answer published so far stops being given. */
  bump(): void {
    Atomics.add(this.i32, 0, 1)
  }

  /** A LOOKUP reply (fuse_entry_out bytes) for `name` in `parent`. */
  putEntry(epoch: number, parent: number, name: Uint8Array, entryOut: Uint8Array): void {
    const child = readU32(entryOut, 0)
    if (name.length === 0 || name.length > MAX_NAME || entryOut.length !== ENTRY_OUT_SIZE) return
    if (!smallIno(parent) || !smallIno(child) || readU32(entryOut, 4) !== 0) return
    this.put(epoch, OP_LOOKUP, parent, name, name.length, entryOut, child)
  }

  /** A GETATTR reply body (fuse_attr_out) for `ino`. */
  putAttr(epoch: number, ino: number, attrOut: Uint8Array): void {
    if (!smallIno(ino) || attrOut.length !== ATTR_OUT_SIZE) return
    this.put(epoch, OP_GETATTR, ino, undefined, 0, attrOut, 0)
  }

  /** The GETATTR reply implied by a fuse_entry_out (from LOOKUP or READDIRPLUS). */
  putAttrFromEntry(epoch: number, entryOut: Uint8Array): void {
    const ino = readU32(entryOut, 0)
    if (!smallIno(ino) || readU32(entryOut, 4) !== 0 || entryOut.length < ENTRY_OUT_SIZE) return
    const body = new Uint8Array(ATTR_OUT_SIZE)
    body.set(entryOut.subarray(24, 32), 0) // attr_valid
    body.set(entryOut.subarray(36, 40), 8) // attr_valid_nsec
    body.set(entryOut.subarray(40, 128), 16) // fuse_attr
    this.put(epoch, OP_GETATTR, ino, undefined, 0, body, 0)
  }

  /** READDIR / READDIRPLUS of `ino` at `endOffset` is the end of the directory. */
  putDirEnd(epoch: number, opcode: number, ino: number, endOffset: number): void {
    if (!smallIno(ino) || endOffset < 0 || endOffset > 0x7fff_ffff) return
    if (opcode !== OP_READDIR && opcode !== OP_READDIRPLUS) return
    this.put(epoch, opcode, ino, undefined, endOffset, undefined, 0)
  }

  private put(epoch: number, op: number, nodeid: number, name: Uint8Array | undefined, extra: number, body: Uint8Array | undefined, counted: number): void {
    if (epoch !== this.epoch) return
    const slot = this.base + (answerHash(op, nodeid, name ?? EMPTY, 0, name?.length ?? 0) & (this.slots - 1)) * SLOT_BYTES
    const i = slot >> 2
    const I = this.i32
    Atomics.add(I, i, 1) // odd: readers skip the slot while it changes
    I[i + 1] = epoch
    I[i + 2] = op
    I[i + 3] = nodeid
    I[i + 4] = extra
    I[i + 5] = body?.length ?? 0
    I[i + 6] = counted
    if (body) this.u8.set(body, slot + BODY_OFF)
    if (name) this.u8.set(name, slot + NAME_OFF)
    Atomics.add(I, i, 1)
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
        const v = I[q + 2 + (head % QUEUE_LEN)]
        const ino = Math.abs(v)
        const n = (this.lent.get(ino) ?? 0) + Math.sign(v)
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

function readU32(b: Uint8Array, off: number): number {
  return (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0
}

function smallIno(ino: number): boolean {
  return ino > 0 && ino <= 0x7fff_ffff
}
