// Streaming packfile parser: parses a pack while it arrives (only the undecoded tail is buffered),
// inflates each object, hashes it, and hands it to a PackTarget one at a time, so no array of all
// objects is ever held. Small objects are decoded by inflate.ts straight out of the receive buffer
// into one scratch buffer laid out as `type size\0body`, which is hashed in one call; large ones go
// to node's zlib. Deltas (OFS_DELTA, REF_DELTA) are kept as their small inflated delta and resolved
// after the pack's SHA-1 trailer has been checked, reading their bases back from the target.
// Errors are RemoteError/IntegrityError; the caller stores nothing on error.
import { constants as bufferConstants } from 'node:buffer'
import * as nodeCrypto from 'node:crypto'
import { createInflate, inflateSync } from 'node:zlib'
import { IntegrityError, RemoteError } from '../errors.ts'
import { droppedBytes } from '../reclaim.ts'
import { trace } from '../trace.ts'
import type { ObjectType, Oid } from '../store/types.ts'
import { applyDelta } from './delta.ts'
import { HEX_DIGITS } from './sha1.ts'
import type { ScanBatch } from './pack_scan.ts'
import { inflateZlib, InflateError, NEED_INPUT } from './inflate.ts'

const TYPES: (ObjectType | undefined)[] = [undefined, 'commit', 'tree', 'blob', 'tag']
/** Object type by pack type code (1 commit, 2 tree, 3 blob, 4 tag), as `addRecord` gives it. */
export const TYPE_NAMES = TYPES as readonly ObjectType[]
/**
 * Objects up to this size are inflated in JS; larger ones by node's zlib, whose per-call set-up
 * (~5 µs) is then small beside its faster decoding.
 */
const JS_INFLATE_MAX = 2048
/**
 * Objects from this size on are inflated as their bytes arrive, a stage at a time, into one buffer
 * of the size the header announced (inflateStreaming): the compressed bytes are never joined whole,
 * and nothing is inflated twice. Smaller ones are joined and inflated at once (fewer calls).
 */
export const STREAM_INFLATE_MIN = 1 << 20
/** Compressed bytes handed to zlib at a time by inflateStreaming. */
const INFLATE_STAGE = 256 << 10
/** Objects parsed between two turns of the event loop (a few ms of work). */
const YIELD_EVERY = 2000

export interface PackObject {
  oid: Oid
  type: ObjectType
  body: Uint8Array
}

/** Where parsed objects go. Bodies passed to `add` are views valid only during the call, unless `owned`. */
export interface PackTarget {
  /**
   * One verified object (its id is the SHA-1 of its type, size and body). May return a promise to
   * slow the reader down. With `owned`, the body is a buffer of its own that nothing else uses or
   * changes: the target may keep it as it is instead of copying it (large objects).
   */
  add(oid: Oid, type: ObjectType, body: Uint8Array, owned?: boolean): void | Promise<void>
  /** Type and body of the n-th object given to `add` (0-based): delta bases are read back this way. */
  get(n: number): Promise<{ type: ObjectType; body: Uint8Array }>
  /** The index (as in `get`) of an object already added with this id, if any. */
  find(oid: Oid): Promise<number | null>
  /**
   * Optional form of `add` for small whole objects, used instead of it when present: the object
   * as its record `rec[start .. end)` = `type size\0body` (body from `bodyAt`), its type code
   * (1 commit, 2 tree, 3 blob, 4 tag) and its id both as hex and as bytes `id[0 .. 20)`. No
   * views are made per object; all are valid only during the call.
   */
  addRecord?(oid: Oid, id: Uint8Array, typeCode: number, rec: Uint8Array, start: number, bodyAt: number, end: number): void | Promise<void>
  /**
   * Optional bulk form used by the pack worker instead of `addRecord` when present: a batch of
   * verified whole objects, records back to back (see pack_scan.ts's ScanBatch; trees the worker
   * vouched for carry VOUCHED in their type code and their directory ids in `subtrees`). The
   * arrays are valid only during the call (and until a returned promise settles).
   */
  addBlock?(block: PackBlock): void | Promise<void>
}

export type PackBlock = ScanBatch

export interface ReadPackOptions {
  /** Base lookup for REF_DELTA objects whose base is not in the pack (thin packs). */
  getBase?: (oid: Oid) => Promise<{ type: ObjectType; body: Uint8Array } | null>
  what?: string
}

const hashOneShot = (nodeCrypto as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash
/** SHA-1 hex of `data` (one-shot where the runtime has crypto.hash: no Hash object per call). */
function sha1(data: Uint8Array): string {
  return hashOneShot ? hashOneShot('sha1', data, 'hex') : nodeCrypto.createHash('sha1').update(data).digest('hex')
}

/**
 * The scratch buffer objects are decoded into, with its views `[0 .. end)` made once per length
 * and reused: making a view per object cost more than hashing it (tree objects are ~80 bytes),
 * in Bun ~3× the hash itself.
 */
class Scratch {
  buf = Buffer.allocUnsafe(64 * 1024)
  /** By length; records hashed here are at most JS_INFLATE_MAX bytes and a header. Filled, so
   *  that the engines keep it a plain dense array (a sparse one is a dictionary). */
  private views: (Uint8Array | null)[] = new Array(JS_INFLATE_MAX + 64).fill(null)
  /** Makes room for a record of `size` body bytes plus its header. */
  fit(size: number): void {
    if (this.buf.length >= size + 32) return
    this.buf = Buffer.allocUnsafe(Math.max(this.buf.length * 2, size + 32))
    this.views.fill(null)
  }
  /** SHA-1 hex of `buf[0 .. end)`. */
  hash(end: number): string {
    let v = this.views[end]
    if (v === null || v === undefined) {
      v = new Uint8Array(this.buf.buffer, this.buf.byteOffset, end)
      if (end < this.views.length) this.views[end] = v
    }
    return sha1(v)
  }
}

/** Writes the 20 bytes of a 40-digit lowercase hex id into `out[0 .. 20)`. */
function hexToId(hex: string, out: Uint8Array): void {
  for (let k = 0; k < 20; k++) out[k] = (HEX_DIGITS[hex.charCodeAt(2 * k)] << 4) | HEX_DIGITS[hex.charCodeAt(2 * k + 1)]
}

class Input {
  /** Contiguous received bytes; `pos` is the parse position. */
  buf: Buffer = Buffer.alloc(0)
  pos = 0
  /** Bytes of `buf` already fed to the pack checksum (always ≤ pos). */
  hashed = 0
  /** Absolute stream offset of buf[0]. */
  base = 0
  ended = false
  hash = nodeCrypto.createHash('sha1')
  /** Chunks received but not merged into `buf` yet: merging only when needed keeps big objects linear. */
  private extra: Uint8Array[] = []
  private extraLen = 0
  private it: AsyncIterator<Uint8Array>
  constructor(src: AsyncIterable<Uint8Array>, readonly what: string) {
    this.it = src[Symbol.asyncIterator]()
  }
  /** Bytes received and not parsed yet (contiguous or not). */
  get avail(): number {
    return this.buf.length - this.pos + this.extraLen
  }
  get offset(): number {
    return this.base + this.pos
  }
  /** Receives one more chunk, without copying; false at the end of the stream. */
  async pull(): Promise<boolean> {
    if (this.ended) return false
    const r = await this.it.next()
    if (r.done) {
      this.ended = true
      return false
    }
    this.extra.push(r.value)
    this.extraLen += r.value.length
    return true
  }
  /**
   * Where received bytes are gathered, reused from one chunk to the next (a new buffer per chunk
   * cost ~15 ms of allocation and copying per 7 MB in Bun): `buf` is its part `[0, buf.length)`
   * while `inStore`; parsed bytes are dropped by moving the rest to the front when it is full.
   */
  private store: Buffer = Buffer.alloc(0)
  private inStore = false
  /** Makes everything received contiguous in `buf` (dropping what was parsed when room is needed). */
  merge(): void {
    if (this.extraLen === 0) return
    let store = this.store
    let len = this.buf.length
    if (!this.inStore || len + this.extraLen > store.length) {
      // Drop the parsed bytes (after feeding them to the checksum), keep the rest at the front.
      if (this.hashed < this.pos) this.hash.update(this.buf.subarray(this.hashed, this.pos))
      const rest = len - this.pos
      const need = rest + this.extraLen
      if (need > store.length || (store.length > STORE_MIN * 16 && need < store.length / 8)) {
        // Grown by doubling (a big object arrives linearly); a big one is let go once past.
        const grown = Buffer.allocUnsafe(Math.max(STORE_MIN, need, need > store.length ? store.length * 2 : 0))
        grown.set(this.buf.subarray(this.pos), 0)
        store = this.store = grown
      } else if (this.inStore) store.copyWithin(0, this.pos, len)
      else store.set(this.buf.subarray(this.pos), 0)
      this.base += this.pos
      this.pos = 0
      this.hashed = 0
      len = rest
    }
    for (const c of this.extra) {
      store.set(c, len)
      len += c.length
    }
    this.buf = store.subarray(0, len)
    this.inStore = true
    this.extra = []
    this.extraLen = 0
  }
  /**
   * Once `buf` is parsed to its end, makes the next received chunk `buf` as it is (no copy, and
   * the parsed one can be freed); false when no chunk is waiting.
   */
  nextChunk(): boolean {
    if (this.pos < this.buf.length || this.extra.length === 0) return false
    if (this.hashed < this.pos) this.hash.update(this.buf.subarray(this.hashed, this.pos))
    this.base += this.pos
    const c = this.extra.shift()!
    this.buf = Buffer.from(c.buffer, c.byteOffset, c.length)
    this.inStore = false
    this.extraLen -= c.length
    this.pos = 0
    this.hashed = 0
    return true
  }
  /** Copies up to `out.length` received bytes from the parse position into `out` (parsing nothing); returns how many. */
  peek(out: Uint8Array): number {
    let n = Math.min(out.length, this.buf.length - this.pos)
    out.set(this.buf.subarray(this.pos, this.pos + n), 0)
    for (let k = 0; k < this.extra.length && n < out.length; k++) {
      const c = this.extra[k]
      const m = Math.min(out.length - n, c.length)
      out.set(c.subarray(0, m), n)
      n += m
    }
    return n
  }
  /** Moves the parse position `n` received bytes on, through as many chunks as that takes (see nextChunk). */
  skip(n: number): void {
    for (;;) {
      const k = Math.min(n, this.buf.length - this.pos)
      this.pos += k
      n -= k
      if (n === 0 || !this.nextChunk()) return
    }
  }
  /** More contiguous input: what was received already, else one more chunk; false at the end of the stream. */
  async more(): Promise<boolean> {
    if (this.extraLen > 0) {
      this.merge()
      return true
    }
    const ok = await this.pull()
    this.merge()
    return ok
  }
  /** Pulls until `n` bytes are buffered and contiguous (or the stream ends: then throws truncated). */
  async need(n: number): Promise<void> {
    while (this.avail < n) if (!(await this.pull())) throw truncated(this.what)
    if (this.buf.length - this.pos < n) this.merge()
  }
}

/** Smallest gathering buffer of Input (a few side-band packets of the network's chunks). */
const STORE_MIN = 256 * 1024

function truncated(what: string): RemoteError {
  return new RemoteError('truncated-pack', `Truncated pack from ${what} (the connection ended early); nothing was stored`)
}

function corrupt(what: string, why: string): RemoteError {
  return new RemoteError('corrupt-pack', `Corrupt pack from ${what}: ${why}; nothing was stored`)
}

/** Inflates a large object with node's zlib, waiting for more input while the stream is incomplete. */
async function inflateLarge(inp: Input, size: number): Promise<Buffer> {
  for (;;) {
    inp.merge()
    const chunk = inp.buf.subarray(inp.pos)
    try {
      // info: true gives the engine, whose bytesWritten is the compressed length consumed.
      const r = inflateSync(chunk, { info: true, chunkSize: Math.max(64, Math.min(size + 1, 1 << 20)) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } }
      if (r.buffer.length !== size) throw new IntegrityError(`Pack object inflates to ${r.buffer.length} bytes, header says ${size}`)
      inp.pos += r.engine.bytesWritten
      return r.buffer
    } catch (err) {
      if (err instanceof IntegrityError) throw err
      const code = (err as { code?: string }).code
      if (code !== 'Z_BUF_ERROR' && !/unexpected end/i.test(String((err as Error).message))) throw corrupt(inp.what, (err as Error).message)
      // Incomplete: wait until the buffered data has doubled (or covers the whole object) and retry.
      const have = chunk.length
      const target = Math.max(have * 2, have + 65536, Math.min(size + 64, have * 8))
      while (inp.avail < target) if (!(await inp.pull())) break
      if (inp.avail === have) throw truncated(inp.what)
    }
  }
}

/**
 * Inflates a large object as its compressed bytes arrive: they go to one zlib stream a stage at a
 * time (copied into one small reused buffer; the received chunks are let go as they are consumed,
 * never joined whole), and the output lands in one buffer of the size the header says (zlib's
 * output buffer itself, sized to hold the object, when the runtime hands out views of it, as Node
 * does). Leaves `inp` just past the object. A stream inflating to more or less than `size`,
 * corrupt, or cut short throws.
 */
async function inflateStreaming(inp: Input, size: number): Promise<Uint8Array> {
  // One spare byte: output that reaches it is more than the header announced.
  if (size + 1 > bufferConstants.MAX_LENGTH) throw corrupt(inp.what, `an object of ${size} bytes is larger than a buffer can be`)
  let z: ReturnType<typeof createInflate>
  try {
    z = createInflate({ chunkSize: size + 1 })
  } catch (err) {
    throw corrupt(inp.what, `no room for an object of ${size} bytes (${(err as Error).message})`)
  }
  const parts: Buffer[] = []
  let got = 0
  let ended = false
  let failed: Error | null = null
  let wake = () => {}
  const fail = (err: Error) => {
    failed ??= err
    wake()
  }
  z.on('data', (c: Buffer) => {
    got += c.length
    if (got > size) fail(new IntegrityError(`Pack object from ${inp.what} inflates to more than the ${size} bytes its header says; nothing was stored`))
    else parts.push(c)
  })
  z.on('end', () => {
    ended = true
    wake()
  })
  z.on('error', (err) => fail(corrupt(inp.what, `object at offset ${inp.offset}: ${err.message}`)))
  // A stage, not each received chunk (a few KiB when the server trickles), per zlib call: a call
  // per chunk cost ~4x the CPU (740 vs 150-210 ms for an 8 MB blob in a traced run).
  const stage = Buffer.allocUnsafe(Math.min(INFLATE_STAGE, size + 64))
  try {
    for (;;) {
      while (inp.avail < stage.length && (await inp.pull()));
      const n = inp.peek(stage)
      if (n === 0) throw truncated(inp.what)
      const before = z.bytesWritten
      await new Promise<void>((resolve) => {
        wake = resolve
        z.write(stage.subarray(0, n), () => resolve())
      })
      if (failed) throw failed
      // zlib takes nothing past the end of the object: what it took is the object's.
      const used = z.bytesWritten - before
      inp.skip(used)
      // The chunks consumed are dead (see reclaim.ts: freed early where the process asks for it).
      droppedBytes(used)
      if (used < n || ended) break
    }
    while (!ended && !failed) await new Promise<void>((resolve) => (wake = resolve))
    if (failed) throw failed
  } finally {
    z.destroy()
  }
  if (got !== size) throw new IntegrityError(`Pack object from ${inp.what} inflates to ${got} bytes, header says ${size}; nothing was stored`)
  // Views of zlib's own output buffer, back to back: that buffer is the body.
  const first = parts[0]
  let contiguous = true
  for (let k = 1, at = first.byteOffset + first.length; k < parts.length && contiguous; at += parts[k].length, k++) {
    contiguous = parts[k].buffer === first.buffer && parts[k].byteOffset === at
  }
  if (contiguous) return new Uint8Array(first.buffer, first.byteOffset, size)
  return Buffer.concat(parts, size)
}

export interface Pending {
  offset: number
  baseOffset: number
  baseOid: Oid | null
  delta: Uint8Array
}

/**
 * The objects of one pack in the order they went to the target (their pack offsets, for OFS_DELTA
 * bases), and its deltas waiting for their bases. Shared by streamPack and the pack worker's reader.
 */
export class PackOrder {
  /** Pack offsets of the objects added while streaming, in order (they only grow). */
  private offsets = new Float64Array(1024)
  private added = 0
  /** Target index of each resolved delta, by pack offset. */
  private deltaIndex = new Map<number, number>()
  readonly pending: Pending[] = []

  /** Records the pack offset of the next object streamed to the target. */
  note(offset: number): void {
    if (this.added === this.offsets.length) {
      const grown = new Float64Array(this.offsets.length * 2)
      grown.set(this.offsets)
      this.offsets = grown
    }
    this.offsets[this.added++] = offset
  }

  /** Resolves the pending deltas into `target` (call once the pack's checksum is verified). */
  async resolve(target: PackTarget, what: string, getBase: ReadPackOptions['getBase'] | null): Promise<void> {
    const pending = this.pending
    if (!pending.length) return
    trace(`pack: resolving ${pending.length} deltas`)
    const nStreamed = this.added
    const offsets = this.offsets
    const deltaIndex = this.deltaIndex
    const indexOfOffset = (off: number): number | null => {
      const d = deltaIndex.get(off)
      if (d !== undefined) return d
      let lo = 0
      let hi = nStreamed - 1
      while (lo <= hi) {
        const mid = (lo + hi) >>> 1
        const v = offsets[mid]
        if (v === off) return mid
        if (v < off) lo = mid + 1
        else hi = mid - 1
      }
      return null
    }
    let added = nStreamed
    await resolveDeltas(pending, target, indexOfOffset, async (p, oid, type, body) => {
      deltaIndex.set(p.offset, added++)
      await target.add(oid, type, body, true)
    }, getBase)
    if (pending.length) {
      throw new IntegrityError(`Pack from ${what} has ${pending.length} deltas against missing bases (first: ${pending[0].baseOid ?? 'offset ' + pending[0].baseOffset})`)
    }
  }
}

/**
 * Parses a whole pack stream into `target`; returns the number of objects. Every object is
 * hashed; the pack's trailer is checked before any delta is resolved.
 */
export async function streamPack(src: AsyncIterable<Uint8Array>, target: PackTarget, options: ReadPackOptions = {}): Promise<number> {
  const what = options.what ?? 'the server'
  const inp = new Input(src, what)
  await inp.need(12)
  trace('pack: first bytes')
  const head = inp.buf.subarray(inp.pos, inp.pos + 12)
  if (head.toString('latin1', 0, 4) !== 'PACK') throw new RemoteError('protocol', `${what} did not send a pack (bad signature)`)
  const version = head.readUInt32BE(4)
  if (version !== 2 && version !== 3) throw new RemoteError('protocol', `Unsupported pack version ${version} from ${what}`)
  const count = head.readUInt32BE(8)
  inp.pos += 12
  const order = new PackOrder()
  const noteOffset = (offset: number): void => order.note(offset)
  const add = (offset: number, oid: Oid, type: ObjectType, body: Uint8Array, owned?: boolean): void | Promise<void> => {
    noteOffset(offset)
    return target.add(oid, type, body, owned)
  }
  const sc = new Scratch()
  const id = new Uint8Array(20)
  const addRecord = target.addRecord ? target.addRecord.bind(target) : null
  const pending = order.pending
  /** A promise from the target (it wants the reader to slow down), left by `fastRun`. */
  let slowDown: Promise<void> | undefined
  /**
   * The common case without awaits: small whole objects, their bytes already received, to a
   * target taking records. Parses up to `limit` of them from the receive buffer and returns how
   * many; stops early (leaving the rest to the general loop) at a delta, a large object, the end
   * of the buffered input, or a target asking to slow down. A small synchronous function is
   * compiled early in a cold process, unlike the long async loop around it.
   */
  const fastRun = (limit: number): number => {
    const b = inp.buf
    const stop = b.length
    let k = 0
    while (k < limit && stop - inp.pos >= 32) {
      let i = inp.pos
      let c = b[i++]
      const typeCode = (c >> 4) & 7
      if (typeCode === 0 || typeCode > 4) break
      let size = c & 15
      let shift = 4
      while (c & 0x80) {
        if (shift > 53) throw corrupt(what, 'object header runs past the data')
        c = b[i++]
        size += shift <= 24 ? (c & 0x7f) << shift : (c & 0x7f) * 2 ** shift
        shift += 7
      }
      if (size > JS_INFLATE_MAX) break
      sc.fit(size)
      const scratch = sc.buf
      const start = writeObjectHeader(scratch, typeCode, size)
      let next: number
      try {
        next = inflateZlib(b, i, stop, scratch, start, size)
      } catch (err) {
        if (err === NEED_INPUT) break
        if (err instanceof InflateError) throw corrupt(what, `object at offset ${inp.offset}: ${err.message}`)
        throw err
      }
      const offset = inp.offset
      inp.pos = next
      const oid = sc.hash(start + size)
      hexToId(oid, id)
      noteOffset(offset)
      k++
      const r = addRecord!(oid, id, typeCode, scratch, 0, start, start + size)
      if (r) {
        slowDown = r
        break
      }
    }
    return k
  }
  let sinceYield = 0
  for (let n = 0; n < count; n++) {
    // Buffered input resolves reads as microtasks, which would keep everything else (a FUSE
    // request of the same process, another fetch) waiting until the whole pack is parsed: give
    // the event loop a turn every few thousand objects.
    if (++sinceYield >= YIELD_EVERY) {
      sinceYield = 0
      await new Promise<void>((r) => setImmediate(r))
    }
    if (addRecord) {
      const k = fastRun(Math.min(count - n, YIELD_EVERY - sinceYield))
      if (slowDown) {
        const r = slowDown
        slowDown = undefined
        await r
      }
      if (k > 0) {
        n += k - 1
        sinceYield += k - 1
        continue
      }
    }
    // An object header (type, size, delta offset) is at most a few dozen bytes.
    if (inp.avail < 32) while (inp.avail < 32 && (await inp.pull()));
    if (inp.buf.length - inp.pos < 32) inp.merge()
    if (inp.avail === 0) throw truncated(what)
    const offset = inp.offset
    const b = inp.buf
    let i = inp.pos
    const stop = b.length
    let c = b[i++]
    const typeCode = (c >> 4) & 7
    let size = c & 15
    let shift = 4
    while (c & 0x80) {
      if (i >= stop || shift > 53) throw corrupt(what, 'object header runs past the data')
      c = b[i++]
      // Shifts while the result stays a small int (`**` is a float power: slow on this hot path).
      size += shift <= 24 ? (c & 0x7f) << shift : (c & 0x7f) * 2 ** shift
      shift += 7
    }
    let baseOffset = -1
    let baseOid: Oid | null = null
    if (typeCode === 6) {
      if (i >= stop) throw corrupt(what, 'object header runs past the data')
      c = b[i++]
      let rel = c & 0x7f
      while (c & 0x80) {
        if (i >= stop || rel > 2 ** 45) throw corrupt(what, 'object header runs past the data')
        c = b[i++]
        rel = (rel + 1) * 128 + (c & 0x7f)
      }
      baseOffset = offset - rel
      if (rel === 0 || baseOffset < 12) throw corrupt(what, 'delta base offset outside the pack')
    } else if (typeCode === 7) {
      inp.pos = i
      await inp.need(20)
      i = inp.pos
      baseOid = inp.buf.toString('hex', i, i + 20)
      i += 20
    }
    inp.pos = i
    const type = TYPES[typeCode]
    if (!type && typeCode < 6) throw corrupt(what, `unknown object type ${typeCode}`)
    if (size > JS_INFLATE_MAX) {
      const body = size >= STREAM_INFLATE_MIN ? await inflateStreaming(inp, size) : await inflateLarge(inp, size)
      // A buffer of its own: the target may keep it as it is.
      if (type) await add(offset, hashObjectParts(type, body), type, body, true)
      else pending.push({ offset, baseOffset, baseOid, delta: body })
      continue
    }
    // Small: decode in JS from the receive buffer; a delta gets its own buffer (it is kept).
    let out: Uint8Array
    let start = 0
    if (type) {
      sc.fit(size)
      start = writeObjectHeader(sc.buf, typeCode, size)
      out = sc.buf
    } else out = new Uint8Array(size)
    for (;;) {
      try {
        inp.pos = inflateZlib(inp.buf, inp.pos, inp.buf.length, out, start, size)
        break
      } catch (err) {
        if (err !== NEED_INPUT) {
          if (err instanceof InflateError) throw corrupt(what, `object at offset ${offset}: ${err.message}`)
          throw err
        }
        if (!(await inp.more())) throw truncated(what)
      }
    }
    if (type) {
      const oid = sc.hash(start + size)
      let r: void | Promise<void>
      if (addRecord) {
        hexToId(oid, id)
        noteOffset(offset)
        r = addRecord(oid, id, typeCode, out, 0, start, start + size)
      } else r = add(offset, oid, type, out.subarray(start, start + size))
      if (r) await r
    } else pending.push({ offset, baseOffset, baseOid, delta: out })
  }
  await inp.need(20)
  trace('pack: last byte')
  if (inp.hashed < inp.pos) inp.hash.update(inp.buf.subarray(inp.hashed, inp.pos))
  const expect = inp.hash.digest('hex')
  const trailer = inp.buf.toString('hex', inp.pos, inp.pos + 20)
  if (trailer !== expect) throw new IntegrityError(`Pack from ${what} fails its checksum (${trailer} ≠ ${expect}); nothing was stored`)
  await order.resolve(target, what, options.getBase ?? null)
  return count
}

const TYPE_BYTES = TYPES.map((t) => (t ? Buffer.from(t + ' ', 'latin1') : Buffer.alloc(0)))

/** Writes `type size\0` into `b` at `at` (no string building: this runs once per object); returns where it ends. */
export function writeObjectHeader(b: Uint8Array, typeCode: number, size: number, at = 0): number {
  const t = TYPE_BYTES[typeCode]
  for (let k = 0; k < t.length; k++) b[at + k] = t[k]
  let i = at + t.length
  let digits = 1
  if (size < 2 ** 31) {
    for (let v = size; v >= 10; v = (v / 10) | 0) digits++
    for (let k = i + digits - 1, v = size; k >= i; k--, v = (v / 10) | 0) b[k] = 48 + (v % 10)
  } else {
    for (let v = size; v >= 10; v = Math.floor(v / 10)) digits++
    for (let k = i + digits - 1, v = size; k >= i; k--, v = Math.floor(v / 10)) b[k] = 48 + (v % 10)
  }
  i += digits
  b[i++] = 0
  return i
}

function hashObjectParts(type: ObjectType, body: Uint8Array): Oid {
  return nodeCrypto.createHash('sha1').update(`${type} ${body.length}\0`, 'latin1').update(body).digest('hex')
}

async function resolveDeltas(
  pending: Pending[],
  target: PackTarget,
  indexOfOffset: (off: number) => number | null,
  add: (p: Pending, oid: Oid, type: ObjectType, body: Uint8Array) => Promise<void>,
  getBase: ReadPackOptions['getBase'] | null,
): Promise<void> {
  // In offset order an OFS_DELTA's base (always earlier) is resolved before it: one pass, except
  // for REF_DELTAs against later objects. The last base read is kept (chains share bases).
  pending.sort((a, b) => a.offset - b.offset)
  let lastKey: string | number | null = null
  let lastBase: { type: ObjectType; body: Uint8Array } | null = null
  let progress = true
  while (progress && pending.length) {
    progress = false
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]
      const key = p.baseOid ?? p.baseOffset
      let base: { type: ObjectType; body: Uint8Array } | null = key === lastKey ? lastBase : null
      if (!base) {
        const n = p.baseOid !== null ? await target.find(p.baseOid) : indexOfOffset(p.baseOffset)
        if (n !== null) base = await target.get(n)
        else if (getBase && p.baseOid) base = await getBase(p.baseOid)
      }
      if (!base) continue
      lastKey = key
      lastBase = base
      let body: Uint8Array
      try {
        body = applyDelta(base.body, p.delta)
      } catch (err) {
        throw new IntegrityError(`${(err as Error).message} (pack offset ${p.offset}); nothing was stored`)
      }
      await add(p, hashObjectParts(base.type, body), base.type, body)
      pending.splice(i--, 1)
      progress = true
    }
  }
}

/**
 * A view of a shared target with its own numbering, so several packs can stream into one target
 * at once (each reader numbers its objects from 0). `add` on the base must take the base's
 * `count` as the new object's index.
 */
export function targetView(base: PackTarget & { readonly count: number }): PackTarget {
  const local: number[] = []
  let back: Map<number, number> | null = null
  const addRecord = base.addRecord?.bind(base)
  return {
    add(oid, type, body, owned) {
      back?.set(base.count, local.length)
      local.push(base.count)
      return base.add(oid, type, body, owned)
    },
    addRecord: addRecord
      ? (oid, id, typeCode, rec, start, bodyAt, end) => {
          back?.set(base.count, local.length)
          local.push(base.count)
          return addRecord(oid, id, typeCode, rec, start, bodyAt, end)
        }
      : undefined,
    addBlock: base.addBlock
      ? (block) => {
          for (let k = 0; k < block.n; k++) {
            back?.set(base.count + k, local.length)
            local.push(base.count + k)
          }
          return base.addBlock!(block)
        }
      : undefined,
    get: (n) => base.get(local[n]),
    async find(oid) {
      const g = await base.find(oid)
      if (g === null) return null
      back ??= new Map(local.map((g2, l) => [g2, l]))
      return back.get(g) ?? null
    },
  }
}

/** A PackTarget in memory (copies each object, but keeps a body given as `owned`). */
export class MemoryPackTarget implements PackTarget {
  readonly objects: PackObject[] = []
  private byOid: Map<Oid, number> | null = null
  get count(): number {
    return this.objects.length
  }
  add(oid: Oid, type: ObjectType, body: Uint8Array, owned?: boolean): void {
    this.objects.push({ oid, type, body: owned ? body : (Uint8Array.prototype.slice.call(body) as Uint8Array) })
    this.byOid?.set(oid, this.objects.length - 1)
  }
  get(n: number): Promise<{ type: ObjectType; body: Uint8Array }> {
    return Promise.resolve(this.objects[n])
  }
  find(oid: Oid): Promise<number | null> {
    if (!this.byOid) this.byOid = new Map(this.objects.map((o, i) => [o.oid, i]))
    return Promise.resolve(this.byOid.get(oid) ?? null)
  }
}

/** Parses a whole pack stream; returns every object with its computed id. */
export async function readPack(src: AsyncIterable<Uint8Array>, options: ReadPackOptions = {}): Promise<PackObject[]> {
  const t = new MemoryPackTarget()
  await streamPack(src, t, options)
  return t.objects
}
