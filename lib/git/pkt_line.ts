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

/** Incremental reader over a byte stream; also hands out raw bytes left after the pkt-lines. */
export class PktReader {
  private buf: Uint8Array = new Uint8Array(0)
  private pos = 0
  private done = false
  private it: AsyncIterator<Uint8Array>

  constructor(source: AsyncIterable<Uint8Array>, private what = 'server reply') {
    this.it = source[Symbol.asyncIterator]()
  }

  /** Chunks received after `buf`, merged only when a packet needs them (no copy per chunk). */
  private extra: Uint8Array[] = []
  private extraLen = 0

  private async fill(n: number): Promise<boolean> {
    let ok = true
    while (this.buf.length - this.pos + this.extraLen < n) {
      if (!this.done) {
        const r = await this.it.next()
        if (!r.done) {
          this.extra.push(r.value)
          this.extraLen += r.value.length
          continue
        }
        this.done = true
      }
      ok = false
      break
    }
    if (this.extraLen > 0 && (!ok || this.buf.length - this.pos < n)) {
      const rest = this.buf.subarray(this.pos)
      if (rest.length === 0 && this.extra.length === 1) this.buf = this.extra[0]
      else {
        const merged = new Uint8Array(rest.length + this.extraLen)
        merged.set(rest, 0)
        let at = rest.length
        for (const c of this.extra) {
          merged.set(c, at)
          at += c.length
        }
        this.buf = merged
      }
      this.pos = 0
      this.extra = []
      this.extraLen = 0
    }
    return ok
  }

  /** The next packet, or null at a clean end of stream. */
  async read(): Promise<Pkt | null> {
    if (!(await this.fill(4))) {
      if (this.buf.length - this.pos === 0) return null
      throw new RemoteError('protocol', `Truncated ${this.what} (cut inside a pkt-line header)`)
    }
    const hex = dec.decode(this.buf.subarray(this.pos, this.pos + 4))
    if (!/^[0-9a-f]{4}$/.test(hex)) throw new RemoteError('protocol', `Malformed ${this.what}: bad pkt-line length "${hex.replace(/[^\x20-\x7e]/g, '?')}"`)
    const len = parseInt(hex, 16)
    if (len < 4) {
      this.pos += 4
      return { kind: len === 0 ? 'flush' : len === 1 ? 'delim' : 'end' }
    }
    if (!(await this.fill(len))) throw new RemoteError('protocol', `Truncated ${this.what} (cut inside a pkt-line)`)
    const data = this.buf.subarray(this.pos + 4, this.pos + len)
    this.pos += len
    return { kind: 'data', data }
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
