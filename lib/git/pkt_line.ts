// pkt-line framing: 4 hex digits of length (including themselves) + payload; 0000 flush,
// 0001 delim, 0002 response-end (protocol v2).
import { RemoteError } from '../errors.ts'

const enc = new TextEncoder()
const dec = new TextDecoder()

export const FLUSH = enc.encode('0000')
export const DELIM = enc.encode('0001')
export const RESPONSE_END = enc.encode('0002')
export const MAX_PKT_DATA = 65516

export function pkt(data: string | Uint8Array): Uint8Array {
  const body = typeof data === 'string' ? enc.encode(data) : data
  if (body.length > MAX_PKT_DATA) throw new RangeError(`pkt-line payload too long (${body.length})`)
  const out = new Uint8Array(body.length + 4)
  out.set(enc.encode((body.length + 4).toString(16).padStart(4, '0')), 0)
  out.set(body, 4)
  return out
}

export type Pkt = { kind: 'data'; data: Uint8Array } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'end' }
/** A packet whose payload is given in pieces (PktReader.readParts): none for an empty payload, never an empty piece. */
export type PktParts = { kind: 'data'; parts: Uint8Array[] } | { kind: 'flush' } | { kind: 'delim' } | { kind: 'end' }

/** Incremental reader over a byte stream; also hands out raw bytes left after the pkt-lines. */
export class PktReader {
  /** The received chunk being read; `pos` is the read position in it. */
  private buf: Uint8Array = new Uint8Array(0)
  private pos = 0
  private done = false
  private it: AsyncIterator<Uint8Array>

  constructor(source: AsyncIterable<Uint8Array>, private what = 'server reply') {
    this.it = source[Symbol.asyncIterator]()
  }

  /** Chunks received after `buf`, taken as they are when `buf` is used up (never joined whole). */
  private extra: Uint8Array[] = []
  private extraLen = 0

  /** Receives chunks until `n` bytes are waiting (in `buf` and after it); false if the stream ends first. */
  private async fill(n: number): Promise<boolean> {
    while (this.buf.length - this.pos + this.extraLen < n) {
      if (this.done) return false
      const r = await this.it.next()
      if (r.done) this.done = true
      else if (r.value.length > 0) {
        this.extra.push(r.value)
        this.extraLen += r.value.length
      }
    }
    return true
  }

  /** When `buf` is used up, the next received chunk becomes `buf`. */
  private advance(): void {
    while (this.pos === this.buf.length && this.extra.length > 0) {
      this.buf = this.extra.shift()!
      this.extraLen -= this.buf.length
      this.pos = 0
    }
  }

  /** The next `n` bytes (all waiting, see fill) as the pieces of the received chunks they lie in (views, no copy). */
  private takeParts(n: number): Uint8Array[] {
    const parts: Uint8Array[] = []
    while (n > 0) {
      this.advance()
      const k = Math.min(n, this.buf.length - this.pos)
      parts.push(this.buf.subarray(this.pos, this.pos + k))
      this.pos += k
      n -= k
    }
    return parts
  }

  /** The next `n` bytes (all waiting) in one piece: a view when they lie in one chunk, else a copy of them alone. */
  private take(n: number): Uint8Array {
    this.advance()
    if (this.buf.length - this.pos >= n) {
      const v = this.buf.subarray(this.pos, this.pos + n)
      this.pos += n
      return v
    }
    return Buffer.concat(this.takeParts(n), n)
  }

  /** Reads a packet header: its length (< 4: flush, delim, end), or null at a clean end of stream. */
  private async header(): Promise<number | null> {
    if (!(await this.fill(4))) {
      if (this.buf.length - this.pos + this.extraLen === 0) return null
      throw new RemoteError('protocol', `Truncated ${this.what} (cut inside a pkt-line header)`)
    }
    const hex = dec.decode(this.take(4))
    if (!/^[0-9a-f]{4}$/.test(hex)) throw new RemoteError('protocol', `Malformed ${this.what}: bad pkt-line length "${hex.replace(/[^\x20-\x7e]/g, '?')}"`)
    const len = parseInt(hex, 16)
    if (len >= 4 && !(await this.fill(len - 4))) throw new RemoteError('protocol', `Truncated ${this.what} (cut inside a pkt-line)`)
    return len
  }

  /** The next packet, or null at a clean end of stream. */
  async read(): Promise<Pkt | null> {
    const len = await this.header()
    if (len === null) return null
    if (len < 4) return { kind: len === 0 ? 'flush' : len === 1 ? 'delim' : 'end' }
    return { kind: 'data', data: this.take(len - 4) }
  }

  /**
   * `read`, with a data packet's payload as the pieces of the received chunks it lies in (views,
   * never joined: a pack streams through without a copy of each packet that straddles two chunks).
   */
  async readParts(): Promise<PktParts | null> {
    const len = await this.header()
    if (len === null) return null
    if (len < 4) return { kind: len === 0 ? 'flush' : len === 1 ? 'delim' : 'end' }
    return { kind: 'data', parts: this.takeParts(len - 4) }
  }

  /** `readLine` when the whole packet is buffered already (no promise; a reply of 100k short
   *  lines made several per line): the line, null for flush/delim/end, undefined when more bytes
   *  are needed or the header is not plain (then `readLine`, which waits, or reports it). */
  readLineNow(): string | null | undefined {
    const b = this.buf
    const at = this.pos
    if (b.length - at < 4) return undefined
    let len = 0
    for (let k = at; k < at + 4; k++) {
      const c = b[k]
      const d = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : -1
      if (d < 0) return undefined
      len = len * 16 + d
    }
    if (len < 4) {
      this.pos += 4
      return null
    }
    if (b.length - at < len) return undefined
    this.pos += len
    const s = dec.decode(b.subarray(at + 4, at + len))
    return s.endsWith('\n') ? s.slice(0, -1) : s
  }

  /** A data line as text without the trailing newline; null for flush/delim/end or end of stream. */
  async readLine(): Promise<string | null> {
    const p = await this.read()
    if (!p || p.kind !== 'data') return null
    const s = dec.decode(p.data)
    return s.endsWith('\n') ? s.slice(0, -1) : s
  }
}

export function pktText(p: Pkt): string {
  if (p.kind !== 'data') return ''
  const s = dec.decode(p.data)
  return s.endsWith('\n') ? s.slice(0, -1) : s
}
