// Large objects in a pack (STREAM_INFLATE_MIN and up) are inflated as their bytes arrive, chunk by
// chunk, into one buffer: same objects as git's, whatever the chunking (an object ending exactly at
// a chunk's end included), and a corrupt, truncated or mis-sized object is an error.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { execFileSync } from 'node:child_process'
import { deflateSync } from 'node:zlib'
import { MemoryPackTarget, readPack, streamPack, STREAM_INFLATE_MIN } from '../../lib/git/pack_reader.ts'
import { RECLAIM_EVERY, setYoungCollector } from '../../lib/reclaim.ts'
import { objectHeader } from '../../lib/git/pack_writer.ts'
import { noise } from '../helpers/bytes.ts'
import { git, makeBareRepo } from '../helpers/repos.ts'

const text = (n: number) => new TextEncoder().encode('a line of a big generated file, compressible\n'.repeat(Math.ceil(n / 45)).slice(0, n))

function oidOf(type: string, body: Uint8Array): string {
  return createHash('sha1').update(`${type} ${body.length}\0`).update(body).digest('hex')
}

/** Pack object header of a blob of `size` bytes. */
const blobHeader = (size: number): Uint8Array => objectHeader('blob', size)

/** A pack of blobs (each with the size its header claims, default its own); also where each object's data ends. */
function blobPack(bodies: Uint8Array[], claim: (number | undefined)[] = []): { pack: Buffer; ends: number[] } {
  const parts: Uint8Array[] = []
  const head = Buffer.alloc(12)
  head.write('PACK', 0, 'latin1')
  head.writeUInt32BE(2, 4)
  head.writeUInt32BE(bodies.length, 8)
  parts.push(head)
  const ends: number[] = []
  let at = 12
  bodies.forEach((b, i) => {
    const h = blobHeader(claim[i] ?? b.length)
    const z = deflateSync(b, { level: 1 })
    parts.push(h, z)
    at += h.length + z.length
    ends.push(at)
  })
  const body = Buffer.concat(parts)
  return { pack: Buffer.concat([body, createHash('sha1').update(body).digest()]), ends }
}

async function* cut(b: Uint8Array, at: number[]): AsyncIterable<Uint8Array> {
  let from = 0
  for (const k of [...at, b.length]) {
    if (k > from) yield b.subarray(from, k)
    from = Math.max(from, k)
  }
}

const every = (b: Uint8Array, size: number) => Array.from({ length: Math.ceil(b.length / size) - 1 }, (_, i) => (i + 1) * size)

const bodies = [
  new TextEncoder().encode('small first\n'),
  noise(3 * 1024 * 1024 + 17, 7),
  new TextEncoder().encode('small between\n'),
  text(2 * 1024 * 1024 + 5),
  noise(STREAM_INFLATE_MIN, 9),
  noise(STREAM_INFLATE_MIN - 1, 11),
  noise(5000, 13),
]
const { pack, ends } = blobPack(bodies)

function expectBodies(objs: { oid: string; type: string; body: Uint8Array }[]): void {
  assert.is(objs.length, bodies.length)
  objs.forEach((o, i) => {
    assert.is(o.type, 'blob')
    assert.is(o.body.length, bodies[i].length)
    assert.ok(Buffer.from(o.body).equals(Buffer.from(bodies[i])), `object ${i} differs`)
    assert.is(o.oid, oidOf('blob', bodies[i]))
  })
}

test('large objects come out whole and verified, in any chunking', async () => {
  for (const size of [997, 65536, 1 << 20]) expectBodies(await readPack(cut(pack, every(pack, size))))
  expectBodies(await readPack(cut(pack, [])))
})

test('a large object ending exactly where a chunk ends, or a byte either side', async () => {
  for (const k of [1, 3, 4]) {
    for (const d of [-1, 0, 1]) expectBodies(await readPack(cut(pack, [...every(pack.subarray(0, ends[k] + d), 65536), ends[k] + d])))
  }
})

test('the target keeps a large body as it is (no copy), and copies the small ones', async () => {
  const t = new MemoryPackTarget()
  await streamPack(cut(pack, every(pack, 65536)), t)
  expectBodies(t.objects)
  // The large ones are zlib's own output: one buffer, not a slice copied out of a shared one.
  assert.ok(t.objects[1].body.buffer.byteLength <= bodies[1].length + 1)
})

test('the received bytes of large objects are reported as dropped (reclaim.ts), as they are consumed', async () => {
  const big = blobPack([noise(3 * RECLAIM_EVERY, 3)]).pack
  let runs = 0
  setYoungCollector(() => runs++)
  try {
    await readPack(cut(big, every(big, 65536)))
  } finally {
    setYoungCollector(null)
  }
  assert.is(runs, 3)
})

test('a corrupt large object is an error', async () => {
  const bad = Buffer.from(pack)
  bad[ends[0] + 1000] ^= 0x55
  try {
    await readPack(cut(bad, every(bad, 65536)))
    assert.unreachable('corrupt object accepted')
  } catch (err) {
    assert.match((err as Error).message, /Corrupt pack|checksum|inflates/)
  }
})

test('a pack cut inside a large object is an error', async () => {
  const short = pack.subarray(0, ends[0] + 1_000_000)
  try {
    await readPack(cut(short, every(short, 65536)))
    assert.unreachable('truncated pack accepted')
  } catch (err) {
    assert.match((err as Error).message, /Truncated pack/)
  }
})

test('a large object whose header claims more or fewer bytes than it inflates to is an error', async () => {
  const big = bodies[1]
  for (const claim of [big.length + 1, big.length - 1, STREAM_INFLATE_MIN]) {
    const p = blobPack([big], [claim]).pack
    try {
      await readPack(cut(p, every(p, 65536)))
      assert.unreachable(`claim ${claim} accepted`)
    } catch (err) {
      assert.match((err as Error).message, /inflates to/)
    }
  }
})

test('a large delta against a large base, from git pack-objects', async () => {
  // Two versions sharing their first 1.6 MiB, each with 1.1 MiB of its own: one is stored as a
  // delta that inflates to more than STREAM_INFLATE_MIN (mostly new bytes).
  const shared = noise(1600 * 1024, 21)
  const a = Buffer.concat([shared, noise(1100 * 1024, 22)])
  const b = Buffer.concat([shared, noise(1100 * 1024, 23)])
  const repo = await makeBareRepo({ files: [{ path: 'a.bin', content: a }, { path: 'b.bin', content: b }] })
  try {
    const ids = git(repo.path, ['rev-list', '--objects', 'main']).split('\n').filter(Boolean).map((l) => l.slice(0, 40))
    const packed = execFileSync('git', ['--git-dir', repo.path, 'pack-objects', '--stdout', '-q', '--delta-base-offset'], { input: ids.join('\n') + '\n', maxBuffer: 1 << 28 })
    // The case asked for: a delta that large.
    const idx = execFileSync('git', ['--git-dir', repo.path, 'index-pack', '--stdin'], { input: packed }).toString().trim().split(/\s+/).pop()
    const verify = git(repo.path, ['verify-pack', '-v', `${repo.path}/objects/pack/pack-${idx}.idx`])
    assert.ok(verify.split('\n').some((l) => /^[0-9a-f]{40} blob\s+(\d+) \d+ \d+ 1 /.test(l) && Number(l.split(/\s+/)[2]) >= STREAM_INFLATE_MIN), verify)
    const objs = await readPack(cut(packed, every(packed, 65536)))
    assert.equal(objs.map((o) => o.oid).sort(), [...new Set(ids)].sort())
    for (const o of objs.filter((x) => x.type === 'blob')) {
      assert.ok(Buffer.from(o.body).equals(execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'blob', o.oid], { maxBuffer: 1 << 28 })))
    }
  } finally {
    repo.cleanup()
  }
})

test.run()
