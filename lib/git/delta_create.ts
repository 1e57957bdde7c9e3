// Git delta creation (the format lib/git/delta.ts applies): source size, target size, then copy
// instructions (offset/size into the source) and inserts (up to 127 literal bytes). Matches are
// found through a table of the source's 16-byte blocks, extended forward byte by byte: simple, and
// good enough for binary patches of edited files.
const BLOCK = 16
const MAX_COPY = 0x10000
/** Larger files are not worth a delta here (the index and the scan cost memory and time): literal. */
export const MAX_DELTA_SIZE = 16 << 20

class Out {
  private buf = new Uint8Array(256)
  length = 0
  push(b: number): void {
    if (this.length === this.buf.length) {
      const next = new Uint8Array(this.buf.length * 2)
      next.set(this.buf)
      this.buf = next
    }
    this.buf[this.length++] = b
  }
  bytes(): Uint8Array {
    return this.buf.slice(0, this.length)
  }
}

function varint(out: Out, n: number): void {
  do {
    let b = n % 128
    n = Math.floor(n / 128)
    if (n > 0) b |= 0x80
    out.push(b)
  } while (n > 0)
}

function insert(out: Out, dst: Uint8Array, from: number, to: number): void {
  for (let i = from; i < to; i += 127) {
    const end = Math.min(i + 127, to)
    out.push(end - i)
    for (let k = i; k < end; k++) out.push(dst[k])
  }
}

function copy(out: Out, offset: number, size: number): void {
  while (size > 0) {
    const n = Math.min(size, MAX_COPY)
    const args: number[] = []
    let op = 0x80
    for (let k = 0; k < 4; k++) {
      const b = Math.floor(offset / 2 ** (8 * k)) & 0xff
      if (b) {
        op |= 1 << k
        args.push(b)
      }
    }
    for (let k = 0; k < 3; k++) {
      const b = (n >> (8 * k)) & 0xff
      if (b) {
        op |= 0x10 << k
        args.push(b)
      }
    }
    out.push(op)
    for (const a of args) out.push(a)
    offset += n
    size -= n
  }
}

/** A delta that turns `src` into `dst`. */
export function createDelta(src: Uint8Array, dst: Uint8Array): Uint8Array {
  const out = new Out()
  varint(out, src.length)
  varint(out, dst.length)
  const index = new Map<string, number>()
  if (src.length <= MAX_DELTA_SIZE) {
    const s = Buffer.from(src.buffer, src.byteOffset, src.length)
    for (let i = 0; i + BLOCK <= src.length; i += BLOCK) {
      const key = s.toString('latin1', i, i + BLOCK)
      if (!index.has(key)) index.set(key, i)
    }
  }
  const d = Buffer.from(dst.buffer, dst.byteOffset, dst.length)
  let pending = 0
  let p = 0
  while (p < dst.length) {
    const at = index.size && p + BLOCK <= dst.length ? index.get(d.toString('latin1', p, p + BLOCK)) : undefined
    if (at === undefined) {
      p++
      continue
    }
    let len = BLOCK
    while (at + len < src.length && p + len < dst.length && src[at + len] === dst[p + len]) len++
    insert(out, dst, pending, p)
    copy(out, at, len)
    p += len
    pending = p
  }
  insert(out, dst, pending, dst.length)
  return out.bytes()
}
