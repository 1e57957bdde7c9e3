// The JS zlib decoder against node's zlib: every level and strategy, odd sizes, stored blocks,
// streams cut short (NEED_INPUT, never a wrong answer), wrong sizes and corrupt bytes (errors).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { constants, deflateSync } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import { inflateZlib, InflateError, NEED_INPUT } from '../../lib/git/inflate.ts'

function sample(len: number, seed: number): Buffer {
  const words = ['100644 ', 'src/', 'index.ts', '\0', 'tree ', 'abc', 'a much longer repeated phrase ']
  const parts: Buffer[] = []
  let tot = 0
  let x = seed
  while (tot < len) {
    x = (x * 1103515245 + 12345) >>> 0
    const p = x % 5 === 0 ? randomBytes(x % 60) : Buffer.from(words[x % words.length])
    parts.push(p)
    tot += p.length
  }
  return Buffer.concat(parts).subarray(0, len)
}

const strategies = [constants.Z_DEFAULT_STRATEGY, constants.Z_FIXED, constants.Z_HUFFMAN_ONLY, constants.Z_RLE, constants.Z_FILTERED]

test('decodes what node zlib encodes, and reports the stream length', () => {
  let n = 0
  for (const len of [0, 1, 2, 37, 38, 100, 255, 1000, 4096, 65535, 65536, 70000, 300000]) {
    for (let level = 0; level <= 9; level += 3) {
      for (const strategy of strategies) {
        const data = sample(len, len + level * 7 + strategy)
        const z = deflateSync(data, { level, strategy })
        const withTail = Buffer.concat([z, randomBytes(7)])
        const out = Buffer.alloc(len + 5)
        const end = inflateZlib(withTail, 0, withTail.length, out, 5, len)
        assert.is(end, z.length)
        assert.ok(out.subarray(5).equals(data), `len ${len} level ${level} strategy ${strategy}`)
        n++
      }
    }
  }
  // Incompressible data: stored blocks.
  const rnd = randomBytes(200000)
  const z = deflateSync(rnd)
  const out = Buffer.alloc(rnd.length)
  assert.is(inflateZlib(z, 0, z.length, out, 0, rnd.length), z.length)
  assert.ok(out.equals(rnd))
  assert.ok(n > 100)
})

test('a stream cut short asks for more input; then decodes', () => {
  const data = sample(5000, 3)
  const z = deflateSync(data)
  for (let cut = 0; cut < z.length; cut += 97) {
    try {
      inflateZlib(z, 0, cut, Buffer.alloc(data.length), 0, data.length)
      assert.unreachable(`no error at cut ${cut}`)
    } catch (err) {
      assert.is(err, NEED_INPUT, `cut ${cut}: ${String(err)}`)
    }
  }
})

test('wrong announced size, corrupt bytes and bad headers are errors', () => {
  const data = sample(3000, 5)
  const z = deflateSync(data)
  for (const size of [data.length - 1, data.length + 1, 0]) {
    assert.throws(() => inflateZlib(z, 0, z.length, Buffer.alloc(size), 0, size), (e: unknown) => e instanceof InflateError)
  }
  assert.throws(() => inflateZlib(Buffer.from([0x78, 0x00, 0, 0]), 0, 4, Buffer.alloc(1), 0, 1), (e: unknown) => e instanceof InflateError)
  // Flipped bits anywhere: an InflateError or NEED_INPUT, never a silent wrong result.
  for (let i = 2; i < z.length; i += 7) {
    const bad = Buffer.from(z)
    bad[i] ^= 0x10
    const out = Buffer.alloc(data.length)
    try {
      inflateZlib(bad, 0, bad.length, out, 0, data.length)
      assert.ok(out.equals(data), `flip at ${i} decoded to different bytes without an error`)
    } catch (err) {
      assert.ok(err === NEED_INPUT || err instanceof InflateError, String(err))
    }
  }
})

test.run()
