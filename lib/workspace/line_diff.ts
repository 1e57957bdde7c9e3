// Myers' O(ND) line diff (with common prefix/suffix trimmed first) and unified hunks.

export type Op = { kind: ' ' | '-' | '+'; line: string }

/** Splits into lines keeping the trailing newline on each (the last line may lack one). */
export function splitLines(text: string): string[] {
  const out: string[] = []
  let start = 0
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      out.push(text.slice(start, i + 1))
      start = i + 1
    }
  }
  if (start < text.length) out.push(text.slice(start))
  return out
}

/** Edit script turning `a` into `b`. Lines are interned to numbers for fast comparison. */
export function diffLines(a: string[], b: string[]): Op[] {
  const ids = new Map<string, number>()
  const intern = (s: string) => {
    let id = ids.get(s)
    if (id === undefined) ids.set(s, (id = ids.size))
    return id
  }
  const A = Int32Array.from(a, intern)
  const B = Int32Array.from(b, intern)
  let pre = 0
  while (pre < A.length && pre < B.length && A[pre] === B[pre]) pre++
  let suf = 0
  while (suf < A.length - pre && suf < B.length - pre && A[A.length - 1 - suf] === B[B.length - 1 - suf]) suf++
  const ops: Op[] = []
  for (let i = 0; i < pre; i++) ops.push({ kind: ' ', line: a[i] })
  const mid = myers(A.subarray(pre, A.length - suf), B.subarray(pre, B.length - suf))
  let i = pre
  let j = pre
  for (const k of mid) {
    if (k === ' ') ops.push({ kind: ' ', line: a[i++] }), j++
    else if (k === '-') ops.push({ kind: '-', line: a[i++] })
    else ops.push({ kind: '+', line: b[j++] })
  }
  for (let s = 0; s < suf; s++) ops.push({ kind: ' ', line: a[i++] })
  return ops
}

/** Past this many edits the diff is "replace everything" (keeps memory O(MAX_D²) on huge rewrites). */
const MAX_D = 4000

/** Plain Myers with a trace of V arrays; the trimmed middle is usually small. */
function myers(A: Int32Array, B: Int32Array): (' ' | '-' | '+')[] {
  const n = A.length
  const m = B.length
  if (n === 0) return new Array(m).fill('+')
  if (m === 0) return new Array(n).fill('-')
  const max = n + m
  const off = max + 1
  let v = new Int32Array(2 * max + 3)
  const trace: Int32Array[] = []
  let found = -1
  for (let d = 0; d <= max && found < 0; d++) {
    if (d > MAX_D) return [...new Array(n).fill('-'), ...new Array(m).fill('+')]
    trace.push(v.slice(off - d - 1, off + d + 2))
    for (let k = -d; k <= d; k += 2) {
      let x = k === -d || (k !== d && v[off + k - 1] < v[off + k + 1]) ? v[off + k + 1] : v[off + k - 1] + 1
      let y = x - k
      while (x < n && y < m && A[x] === B[y]) x++, y++
      v[off + k] = x
      if (x >= n && y >= m) {
        found = d
        break
      }
    }
  }
  // backtrack
  const out: (' ' | '-' | '+')[] = []
  let x = n
  let y = m
  for (let d = found; d > 0; d--) {
    const snap = trace[d] // V before step d, indices k in [-d-1, d+1] at snap[k + d + 1]
    const at = (k: number) => snap[k + d + 1]
    const k = x - y
    const down = k === -d || (k !== d && at(k - 1) < at(k + 1))
    const pk = down ? k + 1 : k - 1
    const px = at(pk)
    const py = px - pk
    while (x > px + (down ? 0 : 1) && y > py + (down ? 1 : 0)) out.push(' '), x--, y--
    if (down) out.push('+'), y--
    else out.push('-'), x--
  }
  while (x > 0 && y > 0) out.push(' '), x--, y--
  return out.reverse()
}

export interface Hunk { aStart: number; aLen: number; bStart: number; bLen: number; ops: Op[] }

/** Groups an edit script into unified hunks with `context` lines around changes (one pass). */
export function hunks(ops: Op[], context = 3): Hunk[] {
  const out: Hunk[] = []
  // line numbers (1-based) of each op on both sides
  const aAt = new Int32Array(ops.length + 1)
  const bAt = new Int32Array(ops.length + 1)
  let a = 1
  let b = 1
  for (let i = 0; i < ops.length; i++) {
    aAt[i] = a
    bAt[i] = b
    if (ops[i].kind !== '+') a++
    if (ops[i].kind !== '-') b++
  }
  const changeIdx: number[] = []
  ops.forEach((o, i) => o.kind !== ' ' && changeIdx.push(i))
  let gi = 0
  while (gi < changeIdx.length) {
    const start = Math.max(0, changeIdx[gi] - context)
    let end = changeIdx[gi]
    while (gi + 1 < changeIdx.length && changeIdx[gi + 1] - end <= 2 * context) end = changeIdx[++gi]
    gi++
    end = Math.min(ops.length - 1, end + context)
    const slice = ops.slice(start, end + 1)
    let aLen = 0
    let bLen = 0
    for (const o of slice) {
      if (o.kind !== '+') aLen++
      if (o.kind !== '-') bLen++
    }
    out.push({ aStart: aLen === 0 ? aAt[start] - 1 : aAt[start], aLen, bStart: bLen === 0 ? bAt[start] - 1 : bAt[start], bLen, ops: slice })
  }
  return out
}
