// Sizes the server told one store are read by another store of the same cache (another process
// in real use) instead of asking again: counted at a real git http-backend. A torn or corrupt
// file never gives a wrong size, and gc removes the file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { appendFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { RECORD, SharedRecords } from '../../lib/store/shared_records.ts'
import { git, lsTree, sampleFiles } from '../helpers/repos.ts'
import { runChild, withServedCache } from './_processes.ts'
import type { GitServer } from '../helpers/git_server.ts'

const run = (args: string[], onStderr?: (text: string) => void, env?: Record<string, string>) =>
  runChild<{ requests: number; sizes: Record<string, number> }>('_sizes_child.ts', args, { onStderr, env })
/** Processes that cannot reach the cache's broker (another network namespace): announcements on disk. */
const NO_BROKER = { SCORPIO_BROKER: '0' }

test('a second process learns blob sizes from the cache, not the server', async () => {
  await withServedCache(sampleFiles(120), async ({ repo, server, url, cache }) => {
    const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob')
    const oids = [...new Set(blobs.map((b) => b.oid))]
    const first = await run([url, cache, ...oids])
    assert.is(first.requests, 1)
    server.reset()
    const second = await run([url, cache, ...oids])
    assert.is(second.requests, 0)
    // Only the store's own session setup may reach the server; no size query.
    assert.ok(server.bytesSent < 1024, `server sent ${server.bytesSent} bytes`)
    for (const b of blobs) assert.is(second.sizes[b.oid], Number(git(repo.path, ['cat-file', '-s', b.oid])))
    // gc gives the space back.
    const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
    assert.ok(existsSync(join(store.db.dir, 'sizes')))
    await store.gc({ maxBytes: 1 << 30 })
    assert.not.ok(existsSync(join(store.db.dir, 'sizes')))
    await store.close()
  })
})

test('a process wanting sizes the cache\'s broker is asking for gets them from it: one query in all', async () => {
  await withServedCache(sampleFiles(120), async ({ repo, server, url, cache }) => {
    const { asked, release, queries } = holdFirstSizeQuery(server)
    try {
      const oids = [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((b) => b.oid))]
      const a = run([url, cache, ...oids])
      await asked
      let waiting = () => {}
      const isWaiting = new Promise<void>((r) => (waiting = r))
      const b = run([url, cache, ...oids], (text) => void (text.includes('asking the cache\'s broker for the sizes') && waiting()))
      await Promise.race([isWaiting, b.then(() => assert.unreachable('the second process got its sizes without asking the broker'))])
      release()
      const [ra, rb] = await Promise.all([a, b])
      assert.is(queries(), 1)
      assert.is(ra.requests, 1)
      assert.is(rb.requests, 0)
      for (const o of oids) assert.is(rb.sizes[o], Number(git(repo.path, ['cat-file', '-s', o])))
    } finally {
      release()
      server.intercept = null
    }
  })
})

test('a process wanting sizes another process is asking for waits for its answer: one query in all', async () => {
  await withServedCache(sampleFiles(120), async ({ repo, server, url, cache }) => {
    let secondAsked = (_: Error) => {}
    const second = new Promise<never>((_, reject) => (secondAsked = reject))
    second.catch(() => {})
    // The first query is held at the server until the second process is waiting for it.
    const { asked, release, queries } = holdFirstSizeQuery(server, () => secondAsked(new Error('the second process asked the server for the sizes itself')))
    try {
      const oids = [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((b) => b.oid))]
      const a = run([url, cache, ...oids], undefined, NO_BROKER)
      await asked
      let waiting = () => {}
      const isWaiting = new Promise<void>((r) => (waiting = r))
      const b = run([url, cache, ...oids], (text) => void (text.includes('another process is asking for') && waiting()), NO_BROKER)
      await Promise.race([isWaiting, second])
      release()
      const [ra, rb] = await Promise.all([a, b])
      assert.is(queries(), 1)
      assert.is(ra.requests, 1)
      assert.is(rb.requests, 0)
      for (const o of oids) assert.is(rb.sizes[o], ra.sizes[o])
      assert.is(Object.keys(rb.sizes).length, oids.length)
    } finally {
      release()
      server.intercept = null
    }
  })
})

// Held while waiting for another's, two processes each waiting for ids the other announced stalled
// until the announcements aged out (2 minutes): an announcement must not outlive its own query.
test('a process whose own size query is answered withdraws its announcement while still waiting for another', async () => {
  await withServedCache(sampleFiles(120), async ({ repo, server, url, cache }) => {
    const { asked, release, queries } = holdFirstSizeQuery(server)
    try {
      const oids = [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((b) => b.oid))]
      const half = oids.slice(0, oids.length >> 1)
      const a = run([url, cache, ...half], undefined, NO_BROKER)
      await asked
      // b waits for a's half and asks the server for the rest itself.
      let answered = () => {}
      const isAnswered = new Promise<void>((r) => (answered = r))
      const b = run([url, cache, ...oids], (text) => void (/store: sized \d+ objects/.test(text) && answered()), NO_BROKER)
      await isAnswered
      const sizing = findDir(cache, 'sizing')
      const announced = () => readdirSync(sizing).filter((n) => /^\d+$/.test(n))
      // Still held at the server, a's query keeps its announcement; b's own is withdrawn.
      for (let i = 0; i < 200 && announced().length > 1; i++) await new Promise((r) => setTimeout(r, 50))
      assert.is(announced().length, 1, `announcements left while the first query is held: ${announced().join(', ')}`)
      release()
      const [ra, rb] = await Promise.all([a, b])
      assert.is(queries(), 2)
      assert.is(ra.requests + rb.requests, 2)
      for (const o of oids) assert.is(rb.sizes[o], Number(git(repo.path, ['cat-file', '-s', o])))
      assert.equal(announced(), [])
    } finally {
      release()
      server.intercept = null
    }
  })
})

/**
 * Holds the first size query (object-info) at the server until `release`; `asked` resolves when it
 * arrives, `later` is called for each query after it, `queries` counts them all.
 */
function holdFirstSizeQuery(server: GitServer, later: () => void = () => {}): { asked: Promise<void>; release: () => void; queries: () => number } {
  let release = () => {}
  const held = new Promise<void>((r) => (release = r))
  let firstAsked = () => {}
  const asked = new Promise<void>((r) => (firstAsked = r))
  let n = 0
  server.intercept = (req) => {
    if (!req.body.includes('command=object-info')) return undefined
    if (++n === 1) return firstAsked(), { after: held }
    later()
    return undefined
  }
  return { asked, release: () => release(), queries: () => n }
}

function findDir(root: string, name: string): string {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    if (!e.isDirectory()) continue
    if (e.name === name) return join(root, name)
    const found = findDir(join(root, e.name), name)
    if (found) return found
  }
  return ''
}

test('a torn or corrupt record is never read as a size; the file starts afresh', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-sizes-'))
  try {
    const a = 'a'.repeat(40)
    const b = 'b'.repeat(40)
    const seen = new Map<string, number>()
    const sink = (o: string, s: number) => void seen.set(o, s)
    const w = new SharedRecords(join(dir, 'sizes'), () => {})
    await w.add([[a, 7], [b, 2 ** 32 + 1]]) // too big for the file: left out
    await new SharedRecords(join(dir, 'sizes'), sink).refresh()
    assert.equal([...seen], [[a, 7]])
    // A write cut short: the half record is not read; the records appended after it are
    // misaligned and fail their checks: the reader sets the file aside, and nothing wrong is read.
    appendFileSync(w.path, Buffer.alloc(RECORD / 2, 1))
    const r = new SharedRecords(join(dir, 'sizes'), sink)
    seen.clear()
    await r.refresh()
    assert.equal([...seen], [[a, 7]])
    await w.add([[b, 9]])
    seen.clear()
    await r.refresh()
    assert.equal([...seen], [])
    assert.not.ok(existsSync(w.path), 'set aside')
    await w.add([[b, 9]])
    assert.is(readFileSync(w.path).length, 2 * RECORD)
    seen.clear()
    await r.refresh()
    assert.equal([...seen], [[b, 9]])
    // A flipped byte in the size: the record fails its check, nothing from it is believed.
    const bytes = readFileSync(w.path)
    bytes[RECORD + 20] ^= 1
    writeFileSync(w.path, bytes)
    seen.clear()
    await new SharedRecords(join(dir, 'sizes'), sink).refresh()
    assert.equal([...seen], [])
    assert.not.ok(existsSync(w.path))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

// Two reads at once each advanced the offset past the same records: what was appended next was
// never read (a third of eight mounts' size queries were asked again so).
test('reads of the shared sizes at once skip nothing appended later', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-sizes-'))
  try {
    const id = (i: number) => i.toString(16).padStart(40, '0')
    const w = new SharedRecords(join(dir, 'sizes'), () => {})
    const seen = new Map<string, number>()
    const r = new SharedRecords(join(dir, 'sizes'), (o, s) => void seen.set(o, s))
    for (let round = 0; round < 20; round++) {
      await w.add(Array.from({ length: 50 }, (_, k) => [id(round * 50 + k), round * 50 + k] as [string, number]))
      await Promise.all([r.refresh(), r.refresh(), r.refresh()])
      assert.is(seen.size, (round + 1) * 50, `round ${round}: every size appended so far was read`)
    }
    for (let i = 0; i < 1000; i++) assert.is(seen.get(id(i)), i)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
