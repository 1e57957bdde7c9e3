import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { readPack } from '../../lib/git/pack_reader.ts'
import { writePack } from '../../lib/git/pack_writer.ts'
import { PktReader, pkt, FLUSH, DELIM } from '../../lib/git/pkt_line.ts'
import { demuxSideband } from '../../lib/git/sideband.ts'
import { git, makeBareRepo, sampleFiles } from '../helpers/repos.ts'

async function* chunks(b: Uint8Array, size: number): AsyncIterable<Uint8Array> {
  for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size)
}

for (const ofs of [true, false]) {
  test(`reads a git pack-objects pack with ${ofs ? 'OFS' : 'REF'}_DELTA, in small chunks`, async () => {
    const files = sampleFiles(80)
    // Similar big files so that pack-objects makes deltas.
    const big = 'line of text that repeats\n'.repeat(2000)
    for (let i = 0; i < 6; i++) files.push({ path: `big/v${i}.txt`, content: big + `variant ${i}\n` })
    const repo = await makeBareRepo({ files })
    try {
      const ids = git(repo.path, ['rev-list', '--objects', 'main']).split('\n').filter(Boolean).map((l) => l.slice(0, 40))
      const args = ['pack-objects', '--stdout', '-q', ...(ofs ? ['--delta-base-offset'] : [])]
      const pack = execFileSync('git', ['--git-dir', repo.path, ...args], { input: ids.join('\n') + '\n' })
      const objs = await readPack(chunks(pack, 777))
      assert.equal(objs.map((o) => o.oid).sort(), [...new Set(ids)].sort())
      for (const o of objs.slice(0, 20)) {
        assert.equal(Buffer.from(o.body), execFileSync('git', ['--git-dir', repo.path, 'cat-file', o.type, o.oid]))
      }
    } finally {
      repo.cleanup()
    }
  })
}

test('writePack output is accepted by git index-pack', async () => {
  const repo = await makeBareRepo()
  try {
    const enc = new TextEncoder()
    const pack = Buffer.concat(writePack([{ type: 'blob', body: enc.encode('hello\n') }, { type: 'blob', body: new Uint8Array(70000).fill(7) }]))
    const out = execFileSync('git', ['--git-dir', repo.path, 'index-pack', '--stdin'], { input: pack }).toString()
    assert.match(out, /^pack\s+[0-9a-f]{40}/)
    assert.is(git(repo.path, ['cat-file', '-p', 'ce013625030ba8dba906f756967f9e9ca394464a']), 'hello\n')
    const back = await readPack(chunks(pack, 100))
    assert.is(back.length, 2)
  } finally {
    repo.cleanup()
  }
})

test('pkt-lines and side-band', async () => {
  const stream = Buffer.concat([pkt('hello\n'), DELIM, pkt(Buffer.from([1, 65, 66])), pkt(Buffer.from([2, 0x70])), pkt(Buffer.from([1, 67])), FLUSH])
  const r = new PktReader(chunks(stream, 3))
  assert.is(await r.readLine(), 'hello')
  assert.equal(await r.read(), { kind: 'delim' })
  const progress: string[] = []
  const data: number[] = []
  for await (const c of demuxSideband(r, { onProgress: (t) => progress.push(t) })) data.push(...c)
  assert.equal(Buffer.from(data).toString(), 'ABC')
  assert.equal(progress, ['p'])
  const err = new PktReader(chunks(Buffer.concat([pkt(Buffer.concat([Buffer.from([3]), Buffer.from('disk full')]))]), 5))
  try {
    for await (const _ of demuxSideband(err)) void _
    assert.unreachable()
  } catch (e) {
    assert.match((e as Error).message, /disk full/)
  }
  const cut = new PktReader(chunks(Buffer.from('00ffabc'), 2))
  try {
    await cut.read()
    assert.unreachable()
  } catch (e) {
    assert.match((e as Error).message, /Truncated/)
  }
})

test('readLineNow answers from what is buffered, the same lines as readLine, and leaves the rest to it', async () => {
  const lines = Array.from({ length: 300 }, (_, i) => `${i.toString(16).padStart(40, '0')} ${i * 37}`)
  const stream = Buffer.concat([pkt('size\n'), ...lines.map((l) => pkt(l + '\n')), pkt('no newline'), DELIM, pkt('ünï\n'), FLUSH])
  const want = ['size', ...lines, 'no newline', null, 'ünï', null, null]
  for (const size of [1, 7, 64, 1000, stream.length]) {
    const r = new PktReader(chunks(stream, size))
    const got: (string | null)[] = []
    let now = 0
    for (let i = 0; i < want.length; i++) {
      let line = r.readLineNow()
      if (line === undefined) line = await r.readLine()
      else now++
      got.push(line)
    }
    assert.equal(got, want, `chunks of ${size}`)
    if (size >= 1000) assert.ok(now > lines.length / 2, `${now} lines answered at once with chunks of ${size}`)
  }
  // A header that is not plain lower-case hex is left to readLine, which reports it.
  const bad = new PktReader(chunks(Buffer.from('00FFabc'), 10))
  await bad.readLine().catch(() => {})
  const odd = new PktReader(chunks(Buffer.concat([pkt('a\n'), Buffer.from('zzzz')]), 100))
  assert.is(await odd.readLine(), 'a')
  assert.is(odd.readLineNow(), undefined)
  await odd.readLine().then(() => assert.unreachable('a bad header must throw'), (e) => assert.match(String(e), /bad pkt-line length/))
})

test.run()
