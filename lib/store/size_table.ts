// Blob sizes by id, compact: the 20 id bytes and the size in typed arrays (open addressing, linear
// probing), ~24 bytes an entry instead of a Map entry plus a 40-character key string (a
// 100,000-file commit kept two such Maps, ~12 MB). Sizes never change for an id; when `max`
// entries are reached the table starts afresh (a size is then asked from the disk again).
import { HEX_DIGITS } from '../git/sha1.ts'

const EMPTY = 0
/** Stored as size + 1; sizes from 2^32 - 1 up live in `big`. */
const BIG = 0xffff_ffff

/** The 32-bit word of lower-case hex digits `oid[at .. at + 8)`, or -1 with `bad[0]` set when
 *  one is not such a digit (validating here costs less than a regular expression per call). */
function hexWord(oid: string, at: number, bad: Uint8Array): number {
  // No branch per digit: a bad one makes `any` negative, checked once at the end (a walk of a
  // 100,000-file tree looks up each size several times; this took a follower ~7% of its CPU).
  let w = 0
  let any = 0
  for (let i = at; i < at + 8; i++) {
    const c = oid.charCodeAt(i)
    const v = c < 256 ? HEX_DIGITS[c] : -1
    any |= v
    w = (w << 4) | (v & 15)
  }
  if (any < 0) {
    bad[0] = 1
    return -1
  }
  return w
}

export class SizeTable {
  private keys = new Int32Array(5 * 1024)
  private vals = new Uint32Array(1024)
  private readonly big = new Map<string, number>()
  private readonly key = new Int32Array(5)
  private readonly bad = new Uint8Array(1)
  private count = 0

  constructor(private readonly max = 500_000) {}

  get size(): number {
    return this.count
  }

  get(oid: string): number | undefined {
    const i = this.find(oid)
    if (i < 0) return undefined
    const v = this.vals[i]
    if (v === EMPTY) return undefined
    return v === BIG ? this.big.get(oid) : v - 1
  }

  set(oid: string, size: number): void {
    let i = this.find(oid)
    if (i < 0) return
    if (this.vals[i] === EMPTY) {
      if (this.count >= this.max) this.clear()
      else if ((this.count + 1) * 10 > this.vals.length * 7) this.resize(this.vals.length * 2)
      else return this.put(i, oid, size)
      i = this.find(oid)
    }
    this.put(i, oid, size)
  }

  clear(): void {
    this.keys = new Int32Array(5 * 1024)
    this.vals = new Uint32Array(1024)
    this.big.clear()
    this.count = 0
  }

  private put(i: number, oid: string, size: number): void {
    if (this.vals[i] === EMPTY) {
      this.count++
      this.keys.set(this.key, i * 5)
    }
    if (size + 1 >= BIG) {
      this.vals[i] = BIG
      this.big.set(oid, size)
    } else this.vals[i] = size + 1
  }

  /** The slot holding `oid`, or the empty slot where it would go; leaves its words in `key`.
   *  -1 when `oid` is not 40 lower-case hex digits. */
  private find(oid: string): number {
    const key = this.key
    const bad = this.bad
    if (oid.length !== 40) return -1
    bad[0] = 0
    for (let w = 0; w < 5; w++) key[w] = hexWord(oid, w * 8, bad)
    if (bad[0]) return -1
    const keys = this.keys
    const mask = this.vals.length - 1
    // Ids are SHA-1s: any of their words is a good hash.
    for (let i = key[4] & mask; ; i = (i + 1) & mask) {
      if (this.vals[i] === EMPTY) return i
      const k = i * 5
      if (keys[k + 4] === key[4] && keys[k] === key[0] && keys[k + 1] === key[1] && keys[k + 2] === key[2] && keys[k + 3] === key[3]) return i
    }
  }

  private resize(cap: number): void {
    const keys = this.keys
    const vals = this.vals
    this.keys = new Int32Array(5 * cap)
    this.vals = new Uint32Array(cap)
    const mask = cap - 1
    for (let j = 0; j < vals.length; j++) {
      if (vals[j] === EMPTY) continue
      let i = keys[j * 5 + 4] & mask
      while (this.vals[i] !== EMPTY) i = (i + 1) & mask
      this.keys.set(keys.subarray(j * 5, j * 5 + 5), i * 5)
      this.vals[i] = vals[j]
    }
  }
}
