// End to end: two mount processes over one cache. What the first learned from the server (blob
// sizes, contents) the second reads from the cache: no size query, no fetch, under 1 KB from the
// real git http-backend. `scorpio stats --json` reports both mounts and their cache.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { mountForeground, requireFuse, sandbox, scorpio, serveRepo, type Sandbox, type Served } from './_cli.ts'

let sb: Sandbox
let served: Served

test.before(async () => {
  requireFuse()
  sb = sandbox()
  served = await serveRepo(300)
})
test.after(async () => {
  sb?.cleanup()
  await served?.close()
})

/** `stat` of every file under gen/, then reads of every other one. */
async function statAndRead(mp: string): Promise<void> {
  for (let d = 0; d < 10; d++) {
    const dir = join(mp, 'gen', `d${d}`)
    for (const name of await fsp.readdir(dir)) {
      const st = await fsp.stat(join(dir, name))
      assert.is(st.size, 4096)
      if (Number(name.slice(1, -4)) % 2 === 0) assert.is((await fsp.readFile(join(dir, name))).length, 4096)
    }
  }
}

const asked = (what: string): number => served.server.log.filter((r) => r.body.includes(`command=${what}`)).length

test('a second mount process reads what the first learned from the cache, not the server; stats shows both', async () => {
  // Without read-ahead: the first mount then learns the sizes of files it does not read without
  // their contents, which is what the second must find in the cache.
  const env = { ...sb.env, SCORPIO_READ_AHEAD: '0' }
  const first = await mountForeground([served.url, sb.dir('a')], { env })
  const second = await mountForeground([served.url, sb.dir('b')], { env })
  try {
    await statAndRead(join(sb.root, 'a'))
    served.server.reset()
    await statAndRead(join(sb.root, 'b'))
    assert.is(asked('object-info'), 0, 'no size query')
    assert.is(asked('fetch'), 0, 'no fetch')
    assert.ok(served.server.bytesSent <= 1024, `${served.server.bytesSent} bytes from the server`)

    const r = await scorpio(['stats', '--json'], { env: sb.env })
    assert.is(r.status, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.equal(doc.silent, [])
    const [a, b] = doc.mounts
    assert.is(a.mountpoint, join(sb.root, 'a'))
    assert.ok(a.store.bytesFetched >= 150 * 4096)
    assert.ok(a.store.sizesFromServer >= 150, JSON.stringify(a.store))
    assert.is(b.store.objectsFetched, 0)
    assert.is(b.store.serverHits, 0)
    assert.ok(b.store.diskHits >= 150, JSON.stringify(b.store))
    // The 150 files the first mount only stat'ed: their sizes came from the cache's sizes file.
    assert.ok(b.store.sizesShared >= 150, JSON.stringify(b.store))
    assert.ok(b.rssBytes > 0)
    assert.is(doc.caches.length, 1)
    const c = doc.caches[0]
    assert.is(c.mounts, 2)
    assert.is(c.live.objectsFetched, a.store.objectsFetched)
    assert.ok(c.knownSizes >= 150 && c.bytes >= 150 * 4096, JSON.stringify(c))
    // The cache's read-ahead ledger: with the read-ahead off, nothing was fetched ahead or noted.
    assert.equal(c.readAhead, { readBytes: 0, wasteBytes: 0 })
    const plain = await scorpio(['stats'], { env: sb.env })
    assert.match(plain.stdout, /reads from memory \d+, disk \d+, server 0/)

    // What a prefetch fetched and was never read since: gen/d1 brings its 30 files (odd numbers: none read yet).
    assert.equal(a.readAhead, { objects: 0, bytes: 0, wasteBytes: 0 })
    assert.equal(a.prefetch, { objects: 0, bytes: 0, unreadBytes: 0 })
    const pf = await scorpio(['prefetch', '--json'], { env: sb.env, cwd: join(sb.root, 'a', 'gen', 'd1') })
    assert.is(JSON.parse(pf.stdout).fetched, 30, pf.stdout + pf.stderr)
    const after = async () => JSON.parse((await scorpio(['stats', '--json'], { env: sb.env })).stdout).mounts[0].prefetch
    assert.equal(await after(), { objects: 30, bytes: 30 * 4096, unreadBytes: 30 * 4096 })
    await fsp.readFile(join(sb.root, 'a', 'gen', 'd1', 'f1.bin'))
    assert.is((await after()).unreadBytes, 29 * 4096)
  } finally {
    await second.stop()
    await first.stop()
  }
  const none = await scorpio(['stats'], { env: sb.env })
  assert.match(none.stdout, /no scorpio mounts/)
})

test.run()
