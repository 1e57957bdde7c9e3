// createDelta output, read back by our own applyDelta (git apply reads it in tests/workspace/binary_diff.test.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createDelta } from '../../lib/git/delta_create.ts'
import { applyDelta } from '../../lib/git/delta.ts'
import { noise } from '../helpers/bytes.ts'

test('round trips: edits, moves, appends, empty sides, copies longer than 64 KiB', () => {
  const src = noise(300000, 3)
  const cases: [string, Uint8Array, Uint8Array][] = [
    ['identical', src, src],
    ['middle edit', src, Uint8Array.from([...src.subarray(0, 1000), 1, 2, 3, ...src.subarray(1003)])],
    ['moved blocks', src, Uint8Array.from([...src.subarray(200000), ...src.subarray(0, 200000)])],
    ['append and prepend', src.subarray(0, 5000), Uint8Array.from([9, 9, ...src.subarray(0, 5000), 7])],
    ['empty source', new Uint8Array(), src.subarray(0, 300)],
    ['empty target', src.subarray(0, 300), new Uint8Array()],
    ['unrelated', noise(1000, 5), noise(1200, 6)],
  ]
  for (const [name, a, b] of cases) {
    const d = createDelta(a, b)
    assert.equal(applyDelta(a, d), b, name)
  }
  assert.ok(createDelta(src, src).length < 100, 'an identical file is a handful of copy instructions')
})

test.run()
