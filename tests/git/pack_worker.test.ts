// The pack worker (a thread inflating and hashing packs as they arrive) against packs made by
// git pack-objects: the same objects as the in-process reader, deltas of both kinds resolved,
// large objects, any chunking; a truncated or corrupt pack is the same clear error.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { IntegrityError, RemoteError } from '../../lib/errors.ts'
import { MemoryPackTarget, readPack } from '../../lib/git/pack_reader.ts'
import { PackWorker } from '../../lib/git/pack_worker.ts'
import { git, makeBareRepo, sampleFiles, type TestRepo } from '../helpers/repos.ts'

async function* chunks(b: Uint8Array, sizes: number[]): AsyncIterable<Uint8Array> {
  for (let i = 0, k = 0; i < b.length; k++) {
    const n = sizes[k % sizes.length]
    yield b.subarray(i, i + n)
    i += n
  }
}

let repo: TestRepo
let ids: string[]
const packs: { ofs: Buffer; ref: Buffer } = { ofs: Buffer.alloc(0), ref: Buffer.alloc(0) }
let worker: PackWorker

test.before(async () => {
  const files = sampleFiles(300)
  // Similar big files and similar big trees, so that pack-objects makes deltas of both.
  const big = 'line of text that repeats\n'.repeat(3000)
  for (let i = 0; i < 6; i++) files.push({ path: `big/v${i}.txt`, content: big + `variant ${i}\n` })
  for (let d = 0; d < 6; d++) for (let i = 0; i < 120; i++) files.push({ path: `wide${d}/entry-with-a-long-name-${i}.txt`, content: i === 7 ? `${d}\n` : `${i % 5}\n` })
  // A blob bigger than the zlib output chunk (1 MiB): inflated across several buffers.
  files.push({ path: 'huge.bin', content: Uint8Array.from({ length: 1_500_000 }, (_, i) => (i * 2654435761) >>> 24) })
  repo = await makeBareRepo({ files })
  const listed = git(repo.path, ['rev-list', '--objects', 'main'])
  ids = [...new Set(listed.split('\n').filter(Boolean).map((l) => l.slice(0, 40)))]
  // With their names (the delta search pairs objects of the same path).
  const make = (extra: string[]) => execFileSync('git', ['--git-dir', repo.path, 'pack-objects', '--stdout', '-q', '--window=50', '--no-reuse-object', ...extra], { input: listed, maxBuffer: 1 << 28 })
  packs.ofs = make(['--delta-base-offset'])
  packs.ref = make([])
  worker = PackWorker.start()!
  assert.ok(worker, 'the worker starts')
})

test.after(async () => {
  await worker?.close()
  repo.cleanup()
})

/** `git verify-pack -v` of a pack: how many entries are deltas, and the largest object size. */
function packStats(pack: Buffer): { deltas: number; largest: number } {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-pack-'))
  try {
    writeFileSync(join(dir, 'p.pack'), pack)
    execFileSync('git', ['index-pack', join(dir, 'p.pack')], { stdio: 'ignore' })
    const lines = execFileSync('git', ['verify-pack', '-v', join(dir, 'p.idx')]).toString().split('\n')
    const rows = lines.map((l) => l.split(/\s+/)).filter((f) => /^[0-9a-f]{40}$/.test(f[0]))
    return { deltas: rows.filter((f) => f.length >= 7).length, largest: Math.max(...rows.map((f) => Number(f[2]))) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

for (const kind of ['ofs', 'ref'] as const) {
  test(`${kind.toUpperCase()}_DELTA pack: the same objects and bodies as the in-process reader, in any chunking`, async () => {
    const pack = packs[kind]
    const want = await readPack(chunks(pack, [65516]))
    assert.equal(want.map((o) => o.oid).sort(), [...ids].sort())
    for (const sizes of [[65516], [1, 7, 300, 4096], [1 << 20]]) {
      const t = new MemoryPackTarget()
      const n = await worker.parse(chunks(pack, sizes), t, { what: 'test' })
      assert.is(n, want.length)
      const got = new Map(t.objects.map((o) => [o.oid, o]))
      assert.is(got.size, want.length, `chunks of ${sizes}`)
      for (const o of want) {
        const g = got.get(o.oid)
        assert.ok(g, `object ${o.oid}`)
        assert.is(g!.type, o.type)
        assert.ok(Buffer.from(g!.body).equals(Buffer.from(o.body)), `body of ${o.oid}`)
      }
    }
    // And git agrees on a few, the large ones included.
    const t = new MemoryPackTarget()
    await worker.parse(chunks(pack, [8192]), t)
    for (const o of [...t.objects].sort((a, b) => b.body.length - a.body.length).slice(0, 5)) {
      assert.ok(Buffer.from(o.body).equals(execFileSync('git', ['--git-dir', repo.path, 'cat-file', o.type, o.oid], { maxBuffer: 1 << 26 })), o.oid)
    }
  })
}

test('the packs used have deltas (OFS and REF) and objects too big for the JS decoder', () => {
  for (const pack of [packs.ofs, packs.ref]) {
    const st = packStats(pack)
    assert.ok(st.deltas >= 8, `${st.deltas} deltas`)
    assert.ok(st.largest > 1 << 20, `largest object ${st.largest}`)
  }
})

test('several packs at once through one worker', async () => {
  const targets = [new MemoryPackTarget(), new MemoryPackTarget(), new MemoryPackTarget()]
  const counts = await Promise.all(targets.map((t, i) => worker.parse(chunks(i === 1 ? packs.ref : packs.ofs, [1000 + i * 333]), t)))
  for (const [i, t] of targets.entries()) {
    assert.is(counts[i], ids.length)
    assert.equal(t.objects.map((o) => o.oid).sort(), [...ids].sort())
  }
})

async function parseError(pack: Uint8Array): Promise<Error> {
  try {
    await worker.parse(chunks(pack, [4096]), new MemoryPackTarget(), { what: 'the test server' })
  } catch (err) {
    return err as Error
  }
  assert.unreachable('expected an error')
  throw new Error('unreachable')
}

test('a truncated pack: the truncated-pack error, wherever it is cut', async () => {
  for (const at of [5, 12, 100, Math.floor(packs.ofs.length / 2), packs.ofs.length - 21, packs.ofs.length - 1]) {
    const err = await parseError(packs.ofs.subarray(0, at))
    assert.instance(err, RemoteError)
    assert.is((err as RemoteError).code, 'truncated-pack', `cut at ${at}: ${err.message}`)
    assert.match(err.message, /Truncated pack from the test server.*nothing was stored/)
  }
})

test('a corrupt pack: a clear error (bad zlib data, bad checksum, bad signature)', async () => {
  const flipped = Buffer.from(packs.ofs)
  flipped[flipped.length - 5] ^= 0xff
  const e1 = await parseError(flipped)
  assert.instance(e1, IntegrityError)
  assert.match(e1.message, /fails its checksum/)
  const bad = Buffer.from(packs.ofs)
  for (let i = 200; i < 260; i++) bad[i] ^= 0x5a
  const e2 = await parseError(bad)
  assert.ok(e2 instanceof RemoteError || e2 instanceof IntegrityError, e2.message)
  assert.match(e2.message, /Corrupt pack|checksum|inflates to/)
  const e3 = await parseError(Buffer.from('NOPE' + 'x'.repeat(40)))
  assert.match(e3.message, /did not send a pack/)
})

test('an error of the target stops the parse; the worker goes on serving other packs', async () => {
  const t = new MemoryPackTarget()
  let seen = 0
  const failing = { ...t, add: () => { if (++seen === 50) throw new Error('hostile entry') }, get: t.get.bind(t), find: t.find.bind(t) }
  try {
    await worker.parse(chunks(packs.ofs, [2048]), failing)
    assert.unreachable('expected the target error')
  } catch (err) {
    assert.match((err as Error).message, /hostile entry/)
  }
  const t2 = new MemoryPackTarget()
  assert.is(await worker.parse(chunks(packs.ofs, [65516]), t2), ids.length)
})

test('a source that fails (the network) fails the parse with its error', async () => {
  async function* broken(): AsyncIterable<Uint8Array> {
    yield packs.ofs.subarray(0, 5000)
    throw new RemoteError('network', 'connection reset')
  }
  try {
    await worker.parse(broken(), new MemoryPackTarget())
    assert.unreachable('expected the source error')
  } catch (err) {
    assert.match((err as Error).message, /connection reset/)
  }
})

test('a stopped worker: its jobs fail with a clear error', async () => {
  const w = PackWorker.start()!
  async function* slow(): AsyncIterable<Uint8Array> {
    yield packs.ofs.subarray(0, 5000)
    await new Promise((r) => setTimeout(r, 200))
    yield packs.ofs.subarray(5000)
  }
  const p = w.parse(slow(), new MemoryPackTarget()).then(() => null, (err: Error) => err)
  await new Promise((r) => setTimeout(r, 50))
  await w.close()
  const err = await p
  assert.ok(err, 'the parse failed')
  assert.match(err!.message, /pack parsing thread was stopped/)
})

test.run()
