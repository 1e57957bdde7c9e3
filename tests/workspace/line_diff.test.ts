import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { diffLines, hunks, splitLines } from '../../lib/workspace/line_diff.ts'

function rng(seed: number) {
  return () => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff
    return seed / 0x7fffffff
  }
}

test('edit scripts rebuild both sides and are minimal on known cases', () => {
  const a = splitLines('a\nb\nc\nd\ne\n')
  const b = splitLines('a\nc\nd\nX\ne\n')
  const ops = diffLines(a, b)
  assert.equal(ops.filter((o) => o.kind !== ' ').length, 2)
  assert.is(ops.filter((o) => o.kind !== '+').map((o) => o.line).join(''), a.join(''))
  assert.is(ops.filter((o) => o.kind !== '-').map((o) => o.line).join(''), b.join(''))
})

test('random inputs: both sides reproduced, hunk headers consistent', () => {
  const r = rng(7)
  for (let round = 0; round < 300; round++) {
    const n = Math.floor(r() * 40)
    const a = Array.from({ length: n }, () => `${Math.floor(r() * 6)}\n`)
    const b = a.filter(() => r() > 0.3).map((l) => (r() > 0.8 ? `${Math.floor(r() * 6)}\n` : l))
    if (r() > 0.5) b.push('tail\n')
    const ops = diffLines(a, b)
    assert.is(ops.filter((o) => o.kind !== '+').map((o) => o.line).join(''), a.join(''))
    assert.is(ops.filter((o) => o.kind !== '-').map((o) => o.line).join(''), b.join(''))
    for (const h of hunks(ops)) {
      assert.is(h.ops.filter((o) => o.kind !== '+').length, h.aLen)
      assert.is(h.ops.filter((o) => o.kind !== '-').length, h.bLen)
    }
  }
})

test('a large file with a few edits stays fast enough to run in a test (no quadratic blowup)', () => {
  const a = Array.from({ length: 200000 }, (_, i) => `line ${i}\n`)
  const b = [...a]
  for (let i = 0; i < 50; i++) b[i * 3000 + 7] = `changed ${i}\n`
  const ops = diffLines(a, b)
  assert.is(ops.filter((o) => o.kind === '+').length, 50)
  assert.is(hunks(ops).length, 50)
})

test.run()
