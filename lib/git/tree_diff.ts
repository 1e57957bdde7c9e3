// The entries that differ between two trees, found on their raw bytes: both trees are sorted the
// way Git sorts them, so one merge walk pairs entries up, and only entries whose mode or id differ
// are parsed (parseTree, with its checks). A checkout between commits that differ in 0.5% of files
// reads ~3,000 trees of which almost every entry is the same on both sides: building entry objects
// for all of them cost more than reading the trees.
import { IntegrityError } from '../errors.ts'
import type { TreeEntry } from '../store/types.ts'
import { parseTree } from './tree.ts'

export interface TreeDiffPair {
  /** The entry in the first tree (absent: only in the second). */
  a?: TreeEntry
  /** The entry in the second tree (absent: only in the first). */
  b?: TreeEntry
}

interface Cursor {
  buf: Buffer
  oid: string
  i: number
  sp: number
  nul: number
  isTree: boolean
}

function cursor(body: Uint8Array, oid: string): Cursor {
  return { buf: Buffer.from(body.buffer, body.byteOffset, body.length), oid, i: 0, sp: -1, nul: -1, isTree: false }
}

/** Positions `c` on the entry starting at c.i; false at the end. */
function read(c: Cursor): boolean {
  if (c.i >= c.buf.length) return false
  c.sp = c.buf.indexOf(0x20, c.i)
  c.nul = c.sp < 0 ? -1 : c.buf.indexOf(0, c.sp + 1)
  if (c.sp < 0 || c.nul < 0 || c.nul + 21 > c.buf.length) throw new IntegrityError(`Tree ${c.oid} is malformed (truncated entry)`)
  const m = c.sp - c.i
  // '40000' (or the old '040000'): the only modes starting with '4' or '04'
  c.isTree = (m === 5 && c.buf[c.i] === 0x34) || (m === 6 && c.buf[c.i] === 0x30 && c.buf[c.i + 1] === 0x34)
  return true
}

/** Git's order of tree entries: bytewise by name, a directory's name compared as if it ended in '/'. */
function compare(a: Buffer, aStart: number, aEnd: number, aTree: boolean, b: Buffer, bStart: number, bEnd: number, bTree: boolean): number {
  const la = aEnd - aStart
  const lb = bEnd - bStart
  const len = Math.min(la, lb)
  const cmp = a.compare(b, bStart, bStart + len, aStart, aStart + len)
  if (cmp !== 0) return cmp
  const ca = len < la ? a[aStart + len] : aTree ? 0x2f : 0
  const cb = len < lb ? b[bStart + len] : bTree ? 0x2f : 0
  return ca - cb
}

function entry(c: Cursor): TreeEntry {
  return parseTree(c.buf.subarray(c.i, c.nul + 21), c.oid)[0]
}

function same(a: Cursor, b: Cursor): boolean {
  return (
    a.buf.compare(b.buf, b.nul + 1, b.nul + 21, a.nul + 1, a.nul + 21) === 0 &&
    (a.isTree === b.isTree && a.sp - a.i === b.sp - b.i ? a.buf.compare(b.buf, b.i, b.sp, a.i, a.sp) === 0 : false)
  )
}

/**
 * Pairs of entries that differ between tree bodies `a` and `b` (same name: both set; a name only
 * one side has: one set; a name that is a file on one side and a directory on the other comes as
 * two pairs). Undefined when either tree is not in Git's order (the caller then compares parsed
 * entries by name instead).
 */
export function diffRawTrees(a: Uint8Array, aOid: string, b: Uint8Array, bOid: string): TreeDiffPair[] | undefined {
  const ca = cursor(a, aOid)
  const cb = cursor(b, bOid)
  const out: TreeDiffPair[] = []
  let hasA = read(ca)
  let hasB = read(cb)
  // the previous entry of each side, to check the order as we go
  let pa: [number, number, boolean] | undefined
  let pb: [number, number, boolean] | undefined
  const advance = (c: Cursor, prev: [number, number, boolean] | undefined): [[number, number, boolean], boolean] | undefined => {
    const here: [number, number, boolean] = [c.sp + 1, c.nul, c.isTree]
    if (prev && compare(c.buf, prev[0], prev[1], prev[2], c.buf, here[0], here[1], here[2]) >= 0) return undefined
    c.i = c.nul + 21
    return [here, read(c)]
  }
  while (hasA || hasB) {
    const order = !hasB ? -1 : !hasA ? 1 : compare(ca.buf, ca.sp + 1, ca.nul, ca.isTree, cb.buf, cb.sp + 1, cb.nul, cb.isTree)
    if (order <= 0) {
      if (order < 0) out.push({ a: entry(ca) })
      else if (!same(ca, cb)) out.push({ a: entry(ca), b: entry(cb) })
    } else out.push({ b: entry(cb) })
    if (order <= 0) {
      const r = advance(ca, pa)
      if (!r) return undefined
      ;[pa, hasA] = r
    }
    if (order >= 0) {
      const r = advance(cb, pb)
      if (!r) return undefined
      ;[pb, hasB] = r
    }
  }
  return out
}
