// Git delta application: source size, target size, then copy/insert instructions.
import { IntegrityError } from '../errors.ts'

function varint(d: Uint8Array, pos: { i: number }): number {
  let n = 0
  let shift = 0
  let b: number
  do {
    b = d[pos.i++]
    n += (b & 0x7f) * 2 ** shift
    shift += 7
  } while (b & 0x80)
  return n
}

export function applyDelta(base: Uint8Array, delta: Uint8Array): Uint8Array {
  const pos = { i: 0 }
  const srcSize = varint(delta, pos)
  if (srcSize !== base.length) throw new IntegrityError(`Delta expects a base of ${srcSize} bytes, got ${base.length}`)
  const dstSize = varint(delta, pos)
  const out = new Uint8Array(dstSize)
  let o = 0
  while (pos.i < delta.length) {
    const op = delta[pos.i++]
    if (op & 0x80) {
      let off = 0
      let size = 0
      if (op & 0x01) off |= delta[pos.i++]
      if (op & 0x02) off |= delta[pos.i++] << 8
      if (op & 0x04) off |= delta[pos.i++] << 16
      if (op & 0x08) off += delta[pos.i++] * 2 ** 24
      if (op & 0x10) size |= delta[pos.i++]
      if (op & 0x20) size |= delta[pos.i++] << 8
      if (op & 0x40) size |= delta[pos.i++] << 16
      if (size === 0) size = 0x10000
      if (off + size > base.length || o + size > dstSize) throw new IntegrityError('Delta copies outside its base or target')
      out.set(base.subarray(off, off + size), o)
      o += size
    } else if (op > 0) {
      if (o + op > dstSize || pos.i + op > delta.length) throw new IntegrityError('Delta inserts past its target')
      out.set(delta.subarray(pos.i, pos.i + op), o)
      o += op
      pos.i += op
    } else throw new IntegrityError('Delta has a reserved opcode 0')
  }
  if (o !== dstSize) throw new IntegrityError(`Delta produced ${o} bytes, expected ${dstSize}`)
  return out
}
