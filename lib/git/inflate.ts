// zlib (RFC 1950) + DEFLATE (RFC 1951) decoding in TypeScript, for the many small objects of a pack.
// A tree fetch brings ~100k objects of ~50 bytes; node's inflateSync costs ~4-7 µs each in handle
// set-up alone, more than the decoding. This decoder works on a slice of the receive buffer with
// no allocation, writes into a caller's buffer of the size the pack header announced, and tells
// how many input bytes the stream used (the pack gives no compressed lengths). Large objects go
// to node's zlib instead (pack_reader.ts). Output is always hash-checked by the caller as well.

/**
 * The decoder as one self-contained function (it refers to nothing outside itself), so that the
 * pack worker (pack_worker.ts) can run the same code from its source text. Each call makes an
 * independent decoder with its own state and its own error class.
 */
export function inflateModule() {
  class InflateError extends Error {}

  /** Thrown (as this value) when the stream runs past the end of the input given. */
  const NEED_INPUT: unique symbol = Symbol('need-input')

  // Decoder state: variables of this closure (single-threaded, never re-entered) keep the hot
  // loop free of property loads.
  let src: Uint8Array = new Uint8Array(0)
  let pos = 0
  let end = 0
  let bitbuf = 0
  let bitcnt = 0

  interface Huffman {
    /** Codes per length, 0..15. */
    count: Uint16Array
    /** Symbols ordered by code. */
    symbol: Uint16Array
    /** Fast table indexed by the next `bits` input bits: (symbol << 4) | length, 0 = use the slow path. */
    table: Int32Array
    bits: number
  }

  function newHuffman(n: number, bits: number): Huffman {
    return { count: new Uint16Array(16), symbol: new Uint16Array(n), table: new Int32Array(1 << bits), bits }
  }

  const offs = new Uint16Array(16)
  const nextCode = new Uint16Array(16)

  /** Builds `h` from code lengths; throws on an over-subscribed set (incomplete ones fail when a missing code is met). */
  function build(h: Huffman, lengths: Uint8Array, n: number): void {
    const count = h.count
    count.fill(0)
    for (let s = 0; s < n; s++) count[lengths[s]]++
    count[0] = 0
    let left = 1
    for (let len = 1; len < 16; len++) {
      left <<= 1
      left -= count[len]
      if (left < 0) throw new InflateError('over-subscribed Huffman code')
    }
    offs[1] = 0
    for (let len = 1; len < 15; len++) offs[len + 1] = offs[len] + count[len]
    for (let s = 0; s < n; s++) if (lengths[s] !== 0) h.symbol[offs[lengths[s]]++] = s
    // Fast table: canonical codes, bit-reversed because DEFLATE sends Huffman codes MSB first.
    const bits = h.bits
    const table = h.table
    table.fill(0)
    let code = 0
    count[0] = 0
    for (let len = 1; len < 16; len++) {
      code = (code + count[len - 1]) << 1
      nextCode[len] = code
    }
    for (let s = 0; s < n; s++) {
      const len = lengths[s]
      if (len === 0 || len > bits) continue
      const c = nextCode[len]++
      let rev = 0
      for (let i = 0; i < len; i++) rev |= ((c >> i) & 1) << (len - 1 - i)
      const e = (s << 4) | len
      for (let i = rev; i < 1 << bits; i += 1 << len) table[i] = e
    }
  }

  function needBits(n: number): void {
    while (bitcnt < n) {
      if (pos >= end) throw NEED_INPUT
      bitbuf |= src[pos++] << bitcnt
      bitcnt += 8
    }
  }

  function getBits(n: number): number {
    needBits(n)
    const v = bitbuf & ((1 << n) - 1)
    bitbuf >>>= n
    bitcnt -= n
    return v
  }

  function decode(h: Huffman): number {
    const bits = h.bits
    while (bitcnt < bits && pos < end) {
      bitbuf |= src[pos++] << bitcnt
      bitcnt += 8
    }
    if (bitcnt >= bits) {
      const e = h.table[bitbuf & ((1 << bits) - 1)]
      if (e !== 0) {
        const len = e & 15
        bitbuf >>>= len
        bitcnt -= len
        return e >> 4
      }
    }
    // Slow path: one bit at a time over the canonical code (long codes, or the very end of input).
    let code = 0
    let first = 0
    let index = 0
    for (let len = 1; len < 16; len++) {
      code |= getBits(1)
      const count = h.count[len]
      if (code - count < first) return h.symbol[index + (code - first)]
      index += count
      first += count
      first <<= 1
      code <<= 1
    }
    throw new InflateError('invalid Huffman code')
  }

  const LBASE = new Uint16Array([3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258])
  const LEXT = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0])
  const DBASE = new Uint16Array([1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577])
  const DEXT = new Uint8Array([0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13])
  const ORDER = new Uint8Array([16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15])

  const fixedLit = newHuffman(288, 9)
  const fixedDist = newHuffman(30, 5)
  {
    const l = new Uint8Array(288)
    l.fill(8, 0, 144)
    l.fill(9, 144, 256)
    l.fill(7, 256, 280)
    l.fill(8, 280, 288)
    build(fixedLit, l, 288)
    build(fixedDist, new Uint8Array(30).fill(5), 30)
  }
  const dynLit = newHuffman(288, 9)
  const dynDist = newHuffman(30, 7)
  const lenCode = newHuffman(19, 7)
  const lengths = new Uint8Array(288 + 30)

  function dynamicTables(): void {
    const nlen = getBits(5) + 257
    const ndist = getBits(5) + 1
    const ncode = getBits(4) + 4
    if (nlen > 286 || ndist > 30) throw new InflateError('bad dynamic block counts')
    lengths.fill(0, 0, 19)
    for (let i = 0; i < ncode; i++) lengths[ORDER[i]] = getBits(3)
    build(lenCode, lengths, 19)
    let i = 0
    while (i < nlen + ndist) {
      let sym = decode(lenCode)
      if (sym < 16) {
        lengths[i++] = sym
        continue
      }
      let len = 0
      if (sym === 16) {
        if (i === 0) throw new InflateError('repeat with no first length')
        len = lengths[i - 1]
        sym = 3 + getBits(2)
      } else if (sym === 17) sym = 3 + getBits(3)
      else sym = 11 + getBits(7)
      if (i + sym > nlen + ndist) throw new InflateError('too many code lengths')
      while (sym--) lengths[i++] = len
    }
    if (lengths[256] === 0) throw new InflateError('no end-of-block code')
    build(dynLit, lengths, nlen)
    build(dynDist, lengths.subarray(nlen), ndist)
  }

  function codes(out: Uint8Array, o: number, oEnd: number, oStart: number, lit: Huffman, dist: Huffman): number {
    const lt = lit.table
    const lbits = lit.bits
    const lmask = (1 << lbits) - 1
    const dt = dist.table
    const dbits = dist.bits
    const dmask = (1 << dbits) - 1
    // The bit reader's state lives in locals in this loop (module variables are memory loads and
    // stores on every use); it is written back around the calls to the slow paths and on return.
    // NEED_INPUT restarts the whole stream, so a throw needs no write-back.
    const s = src
    const e = end
    let p = pos
    let bb = bitbuf
    let bc = bitcnt
    for (;;) {
      // Two bytes at a time while they are there (at most 31 bits held: no sign trouble); bytes read
      // past the stream's end are given back by the caller.
      if (bc < 16) {
        if (p + 1 < e) {
          bb |= (s[p] | (s[p + 1] << 8)) << bc
          p += 2
          bc += 16
        } else {
          while (bc < lbits && p < e) {
            bb |= s[p++] << bc
            bc += 8
          }
        }
      }
      let sym: number
      let t = bc >= lbits ? lt[bb & lmask] : 0
      if (t !== 0) {
        const len = t & 15
        bb >>>= len
        bc -= len
        sym = t >> 4
      } else {
        pos = p
        bitbuf = bb
        bitcnt = bc
        sym = decode(lit)
        p = pos
        bb = bitbuf
        bc = bitcnt
      }
      if (sym < 256) {
        if (o >= oEnd) throw new InflateError('stream is longer than the size announced')
        out[o++] = sym
      } else if (sym === 256) {
        pos = p
        bitbuf = bb
        bitcnt = bc
        return o
      } else {
        sym -= 257
        if (sym >= 29) throw new InflateError('bad length code')
        const lext = LEXT[sym]
        let len = LBASE[sym]
        if (lext) {
          while (bc < lext) {
            if (p >= e) throw NEED_INPUT
            bb |= s[p++] << bc
            bc += 8
          }
          len += bb & ((1 << lext) - 1)
          bb >>>= lext
          bc -= lext
        }
        while (bc < dbits && p < e) {
          bb |= s[p++] << bc
          bc += 8
        }
        let ds: number
        t = bc >= dbits ? dt[bb & dmask] : 0
        if (t !== 0) {
          const l = t & 15
          bb >>>= l
          bc -= l
          ds = t >> 4
        } else {
          pos = p
          bitbuf = bb
          bitcnt = bc
          ds = decode(dist)
          p = pos
          bb = bitbuf
          bc = bitcnt
        }
        if (ds >= 30) throw new InflateError('bad distance code')
        const dext = DEXT[ds]
        let d = DBASE[ds]
        if (dext) {
          while (bc < dext) {
            if (p >= e) throw NEED_INPUT
            bb |= s[p++] << bc
            bc += 8
          }
          d += bb & ((1 << dext) - 1)
          bb >>>= dext
          bc -= dext
        }
        if (d > o - oStart) throw new InflateError('distance before the start of the output')
        if (o + len > oEnd) throw new InflateError('stream is longer than the size announced')
        for (let k = 0; k < len; k++, o++) out[o] = out[o - d]
      }
    }
  }

  /**
   * Decodes the zlib stream starting at `input[start]` (not past `inputEnd`) into
   * `out[outStart .. outStart + outLen)`, which it must fill exactly. Returns the input position
   * just after the stream (after its Adler-32). Throws NEED_INPUT when the input ends first, an
   * InflateError when the stream is malformed, longer or shorter than `outLen`, or fails its checksum.
   */
  function inflateZlib(input: Uint8Array, start: number, inputEnd: number, out: Uint8Array, outStart: number, outLen: number): number {
    src = input
    pos = start
    end = inputEnd
    bitbuf = 0
    bitcnt = 0
    try {
      if (pos + 2 > end) throw NEED_INPUT
      const cmf = src[pos]
      const flg = src[pos + 1]
      if ((cmf & 15) !== 8 || cmf >> 4 > 7 || ((cmf << 8) | flg) % 31 !== 0 || flg & 0x20) throw new InflateError('bad zlib header')
      pos += 2
      const oEnd = outStart + outLen
      let o = outStart
      let last = 0
      do {
        last = getBits(1)
        const type = getBits(2)
        if (type === 0) {
          // Stored: drop to a byte boundary, give back whole bytes held in the bit buffer.
          pos -= bitcnt >> 3
          bitbuf = 0
          bitcnt = 0
          if (pos + 4 > end) throw NEED_INPUT
          const len = src[pos] | (src[pos + 1] << 8)
          const nlen = src[pos + 2] | (src[pos + 3] << 8)
          if (len !== (~nlen & 0xffff)) throw new InflateError('stored block length check failed')
          pos += 4
          if (pos + len > end) throw NEED_INPUT
          if (o + len > oEnd) throw new InflateError('stream is longer than the size announced')
          out.set(src.subarray(pos, pos + len), o)
          o += len
          pos += len
        } else if (type === 1) o = codes(out, o, oEnd, outStart, fixedLit, fixedDist)
        else if (type === 2) {
          dynamicTables()
          o = codes(out, o, oEnd, outStart, dynLit, dynDist)
        } else throw new InflateError('reserved block type')
      } while (!last)
      if (o !== oEnd) throw new InflateError(`stream inflates to ${o - outStart} bytes, the pack says ${outLen}`)
      pos -= bitcnt >> 3
      if (pos + 4 > end) throw NEED_INPUT
      let a = 1
      let b = 0
      for (let i = outStart; i < oEnd; ) {
        const stop = Math.min(oEnd, i + 3800)
        for (; i < stop; i++) {
          a += out[i]
          b += a
        }
        a %= 65521
        b %= 65521
      }
      const want = ((src[pos] << 24) | (src[pos + 1] << 16) | (src[pos + 2] << 8) | src[pos + 3]) >>> 0
      if (((b << 16) | a) >>> 0 !== want) throw new InflateError('Adler-32 checksum mismatch')
      return pos + 4
    } finally {
      src = EMPTY
    }
  }

  const EMPTY = new Uint8Array(0)
  return { inflateZlib, InflateError, NEED_INPUT }
}

const decoder = inflateModule()
/**
 * Decodes the zlib stream starting at `input[start]` (not past `inputEnd`) into
 * `out[outStart .. outStart + outLen)`, which it must fill exactly. Returns the input position
 * just after the stream (after its Adler-32). Throws NEED_INPUT when the input ends first, an
 * InflateError when the stream is malformed, longer or shorter than `outLen`, or fails its checksum.
 */
export const inflateZlib = decoder.inflateZlib
export const InflateError = decoder.InflateError
export type InflateError = InstanceType<typeof decoder.InflateError>
/** Thrown (as this value) when the stream runs past the end of the input given. */
export const NEED_INPUT = decoder.NEED_INPUT
