// Streaming packfile parser: reads a pack as it arrives (only the undecoded tail is buffered),
// inflates each object, resolves OFS_DELTA and REF_DELTA, hashes every object and checks the
// pack's SHA-1 trailer. Errors are RemoteError/IntegrityError; the caller stores nothing on error.
import { createHash } from 'node:crypto'
import { inflateSync } from 'node:zlib'
import { IntegrityError, RemoteError } from '../errors.ts'
import type { ObjectType, Oid } from '../store/types.ts'
import { applyDelta } from './delta.ts'
import { hashObject } from './sha1.ts'

const TYPES: Record<number, ObjectType> = { 1: 'commit', 2: 'tree', 3: 'blob', 4: 'tag' }

export interface PackObject {
  oid: Oid
  type: ObjectType
  body: Uint8Array
}

export interface ReadPackOptions {
  /** Base lookup for REF_DELTA objects whose base is not in the pack (thin packs). */
  getBase?: (oid: Oid) => Promise<{ type: ObjectType; body: Uint8Array } | null>
  what?: string
}

class Input {
  buf: Buffer = Buffer.alloc(0)
  pos = 0
  ended = false
  consumed = 0
  hash = createHash('sha1')
  /** Chunks received but not yet merged into `buf` (merging only when needed keeps big objects linear). */
  private extra: Buffer[] = []
  private extraLen = 0
  private it: AsyncIterator<Uint8Array>
  constructor(src: AsyncIterable<Uint8Array>, readonly what: string) {
    this.it = src[Symbol.asyncIterator]()
  }
  get avail(): number {
    return this.buf.length - this.pos + this.extraLen
  }
  /** Pulls one more chunk from the source (not merged yet). */
  async more(): Promise<boolean> {
    if (this.ended) return false
    const r = await this.it.next()
    if (r.done) {
      this.ended = true
      return false
    }
    this.extra.push(Buffer.from(r.value.buffer, r.value.byteOffset, r.value.length))
    this.extraLen += r.value.length
    return true
  }
  /** Makes everything received contiguous in `buf`. */
  merge(): void {
    if (this.extraLen === 0) return
    const rest = this.buf.subarray(this.pos)
    this.buf = rest.length === 0 && this.extra.length === 1 ? this.extra[0] : Buffer.concat([rest, ...this.extra])
    this.pos = 0
    this.extra = []
    this.extraLen = 0
  }
  async need(n: number): Promise<void> {
    while (this.avail < n) if (!(await this.more())) throw new RemoteError('truncated-pack', `Truncated pack from ${this.what} (the connection ended early); nothing was stored`)
    if (this.buf.length - this.pos < n) this.merge()
  }
  take(n: number, hashIt = true): Buffer {
    const b = this.buf.subarray(this.pos, this.pos + n)
    if (hashIt) this.hash.update(b)
    this.pos += n
    this.consumed += n
    return b
  }
  async byte(): Promise<number> {
    await this.need(1)
    return this.take(1)[0]
  }
}

type Entry = { type: ObjectType; body: Uint8Array; oid: Oid }
type Pending = { offset: number; baseOffset?: number; baseOid?: Oid; delta: Uint8Array }

async function inflateNext(inp: Input, size: number): Promise<Buffer> {
  // Most objects are small: first try with what is buffered, at least a little.
  const want = Math.min(size + 32, 4096)
  while (inp.avail < want) if (!(await inp.more())) break
  inp.merge()
  for (;;) {
    const chunk = inp.buf.subarray(inp.pos)
    try {
      // info: true gives the engine, whose bytesWritten is the compressed length consumed.
      const r = inflateSync(chunk, { info: true, chunkSize: Math.max(64, Math.min(size + 1, 1 << 20)) }) as unknown as { buffer: Buffer; engine: { bytesWritten: number } }
      if (r.buffer.length !== size) throw new IntegrityError(`Pack object inflates to ${r.buffer.length} bytes, header says ${size}`)
      inp.take(r.engine.bytesWritten)
      return r.buffer
    } catch (err) {
      if (err instanceof IntegrityError) throw err
      const code = (err as { code?: string }).code
      if (code !== 'Z_BUF_ERROR' && !/unexpected end/i.test(String((err as Error).message))) {
        throw new RemoteError('corrupt-pack', `Corrupt pack from ${inp.what}: ${(err as Error).message}; nothing was stored`)
      }
      // Incomplete: wait until the buffered data has doubled (or covers the whole object) and retry.
      const target = Math.max(chunk.length * 2, chunk.length + 65536, Math.min(size + 64, chunk.length * 8))
      while (inp.avail < target) if (!(await inp.more())) break
      if (inp.avail === chunk.length) {
        throw new RemoteError('truncated-pack', `Truncated pack from ${inp.what} (the connection ended early); nothing was stored`)
      }
      inp.merge()
    }
  }
}

/** Type, size and (OFS_DELTA) base distance of the object header at `pos`; null when cut short. */
function parseObjectHeader(b: Buffer, pos: number): { typeCode: number; size: number; rel: number; len: number } | null {
  let i = pos
  if (i >= b.length) return null
  let c = b[i++]
  const typeCode = (c >> 4) & 7
  let size = c & 15
  let shift = 4
  while (c & 0x80) {
    if (i >= b.length || shift > 53) return null
    c = b[i++]
    size += (c & 0x7f) * 2 ** shift
    shift += 7
  }
  let rel = 0
  if (typeCode === 6) {
    if (i >= b.length) return null
    c = b[i++]
    rel = c & 0x7f
    while (c & 0x80) {
      if (i >= b.length) return null
      c = b[i++]
      rel = (rel + 1) * 128 + (c & 0x7f)
    }
  }
  return { typeCode, size, rel, len: i - pos }
}

/** Parses a whole pack stream; returns every object with its computed id. */
export async function readPack(src: AsyncIterable<Uint8Array>, options: ReadPackOptions = {}): Promise<PackObject[]> {
  const what = options.what ?? 'the server'
  const inp = new Input(src, what)
  await inp.need(12)
  const head = inp.take(12)
  if (head.toString('latin1', 0, 4) !== 'PACK') throw new RemoteError('protocol', `${what} did not send a pack (bad signature)`)
  const version = head.readUInt32BE(4)
  if (version !== 2 && version !== 3) throw new RemoteError('protocol', `Unsupported pack version ${version} from ${what}`)
  const count = head.readUInt32BE(8)
  const byOffset = new Map<number, Entry>()
  const byOid = new Map<Oid, Entry>()
  const pending: Pending[] = []
  const out: PackObject[] = []
  const add = (offset: number, e: Entry) => {
    byOffset.set(offset, e)
    byOid.set(e.oid, e)
    out.push(e)
  }
  for (let n = 0; n < count; n++) {
    const offset = inp.consumed
    // An object header (type, size, delta offset) is at most a few dozen bytes: parse it in one go.
    while (inp.avail < 32 && (await inp.more()));
    if (inp.buf.length - inp.pos < 32) inp.merge()
    if (inp.avail === 0) await inp.need(1) // throws: truncated
    const h = parseObjectHeader(inp.buf, inp.pos)
    if (!h) throw new RemoteError('corrupt-pack', `Corrupt pack from ${what}: object header runs past the data`)
    inp.take(h.len)
    const { typeCode, size, rel } = h
    if (typeCode === 6) {
      const delta = await inflateNext(inp, size)
      const base = byOffset.get(offset - rel)
      if (base) {
        const body = applyDelta(base.body, delta)
        add(offset, { type: base.type, body, oid: hashObject(base.type, body) })
      } else pending.push({ offset, baseOffset: offset - rel, delta })
    } else if (typeCode === 7) {
      await inp.need(20)
      const baseOid = inp.take(20).toString('hex')
      const delta = await inflateNext(inp, size)
      const base = byOid.get(baseOid)
      if (base) {
        const body = applyDelta(base.body, delta)
        add(offset, { type: base.type, body, oid: hashObject(base.type, body) })
      } else pending.push({ offset, baseOid, delta })
    } else {
      const type = TYPES[typeCode]
      if (!type) throw new RemoteError('corrupt-pack', `Corrupt pack from ${what}: unknown object type ${typeCode}`)
      const body = await inflateNext(inp, size)
      add(offset, { type, body, oid: hashObject(type, body) })
    }
    // A delta whose base arrived later than it (rare): resolve when the base shows up.
    if (pending.length && typeCode < 6) await resolve(pending, byOffset, byOid, add, null)
  }
  await inp.need(20)
  const expect = inp.hash.digest('hex')
  const trailer = inp.take(20, false).toString('hex')
  if (trailer !== expect) throw new IntegrityError(`Pack from ${what} fails its checksum (${trailer} ≠ ${expect}); nothing was stored`)
  await resolve(pending, byOffset, byOid, add, options.getBase ?? null)
  if (pending.length) throw new IntegrityError(`Pack from ${what} has ${pending.length} deltas against missing bases (first: ${pending[0].baseOid ?? 'offset ' + pending[0].baseOffset})`)
  return out
}

async function resolve(
  pending: Pending[],
  byOffset: Map<number, Entry>,
  byOid: Map<Oid, Entry>,
  add: (offset: number, e: Entry) => void,
  getBase: ReadPackOptions['getBase'] | null,
): Promise<void> {
  let progress = true
  while (progress && pending.length) {
    progress = false
    for (let i = 0; i < pending.length; i++) {
      const p = pending[i]
      let base: { type: ObjectType; body: Uint8Array } | null | undefined =
        p.baseOffset !== undefined ? byOffset.get(p.baseOffset) : byOid.get(p.baseOid!)
      if (!base && getBase && p.baseOid) base = await getBase(p.baseOid)
      if (!base) continue
      const body = applyDelta(base.body, p.delta)
      add(p.offset, { type: base.type, body, oid: hashObject(base.type, body) })
      pending.splice(i--, 1)
      progress = true
    }
  }
}
