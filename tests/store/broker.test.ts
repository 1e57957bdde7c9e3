// The cache's fetch broker (lib/store/broker.ts), at a real git http-backend: the first store of a
// cache to fetch fetches for the others; a broker killed mid-fetch leaves its followers to fetch
// themselves and one of them to take its place; a broker that lies or speaks nonsense costs a
// fetch, never an object.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawn } from 'node:child_process'
import { createConnection, createServer, type Server } from 'node:net'
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { brokerName } from '../../lib/store/broker.ts'
import { EMPTY_BLOB_OID, hashObject } from '../../lib/git/sha1.ts'
import { lsTree, sampleFiles, type TestRepo } from '../helpers/repos.ts'
import { describeRequest } from '../helpers/git_server.ts'
import { openLower, type LowerView } from '../../lib/lower/mod.ts'
import { withServedCache } from './_processes.ts'

const here = import.meta.dirname ?? new URL('.', import.meta.url).pathname

const blobsOf = (repo: TestRepo) =>
  [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((r) => r.oid))].filter((o) => o !== EMPTY_BLOB_OID)

async function readAll(store: Store, oids: string[]): Promise<void> {
  const bodies = await Promise.all(oids.map((o) => store.readBlob(o)))
  oids.forEach((o, i) => assert.is(hashObject('blob', bodies[i]), o))
}

const isFetch = (body: Buffer) => body.includes('command=fetch')

test('the first store of a cache to fetch fetches for the others; theirs ask the server nothing', async () => {
  await withServedCache(sampleFiles(60), async ({ repo, server, url, cache }) => {
    const [first, ...rest] = blobsOf(repo)
    const a = await openStore({ remote: await openRemote(url), cacheDir: cache })
    const b = await openStore({ remote: await openRemote(url), cacheDir: cache })
    try {
      await readAll(a, [first])
      await readAll(b, rest)
      assert.is(b.stats.requests, 0)
      assert.is(b.stats.objectsFetched, 0)
      assert.is(b.stats.objectsShared, rest.length)
      assert.is(a.stats.objectsServed, rest.length)
      assert.is(a.stats.objectsFetched, 1 + rest.length)
      // A follower that finds its stored copy corrupt takes the broker's (checked) and mends the disk.
      const loc = a.db.packs.locate(rest[0])!
      const fd = openSync(loc.pack.dataPath, 'r+')
      writeSync(fd, Buffer.from('X'), 0, 1, loc.offset + loc.length - 1)
      closeSync(fd)
      const d = await openStore({ remote: await openRemote(url), cacheDir: cache })
      await readAll(d, [rest[0]])
      const e = await openStore({ remote: await openRemote(url), cacheDir: cache, broker: false })
      await readAll(e, [rest[0]])
      assert.is(d.stats.requests + e.stats.requests, 0)
      await Promise.all([d.close(), e.close()])
      // A process that cannot read the cache (no token) gets nothing from its broker.
      const tree = lsTree(repo.path, repo.head).find((r) => r.type === 'tree')!.oid // not stored yet
      server.reset()
      const stranger = createConnection(brokerName(a.db.dir))
      stranger.on('error', () => {})
      stranger.write(JSON.stringify({ id: 1, token: 'guess', oids: [tree] }) + '\n')
      const outcome = await new Promise((r) => (stranger.once('close', () => r('closed')), stranger.once('data', () => r('answered'))))
      assert.is(outcome, 'closed')
      assert.is(server.requests, 0)
      assert.is(await a.has(tree), false)
      // Without the broker, the second store fetches for itself.
      const c = await openStore({ remote: await openRemote(url), cacheDir: join(cache, 'other'), broker: false })
      await readAll(c, rest.slice(0, 5))
      assert.ok(c.stats.requests > 0)
      await c.close()
    } finally {
      await a.close()
      await b.close()
    }
  })
})

test('a broker killed mid-fetch: its follower fetches what it waited for, and becomes the broker', async () => {
  await withServedCache(sampleFiles(10), async ({ repo, server, url, cache }) => {
    const [first, second, third, fourth] = blobsOf(repo)
    const child = spawn(process.execPath, ['--import', 'tsx', join(here, '_broker_child.ts'), url, cache, first], { stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    child.stderr!.on('data', (d) => (err += d))
    const exited = new Promise((r) => child.once('exit', r))
    const b = await openStore({ remote: await openRemote(url), cacheDir: cache })
    try {
      await new Promise<void>((resolve, reject) => {
        child.stdout!.on('data', (d) => String(d).includes('ready') && resolve())
        child.once('exit', () => reject(new Error(`broker child ended: ${err}`)))
      })
      // The broker's fetch for the follower never gets an answer from the server.
      server.intercept = (r) => (r.method === 'POST' && isFetch(r.body) && r.body.includes(second) ? { hang: true } : undefined)
      const read = b.readBlob(second)
      while (!server.log.some((r) => r.method === 'POST' && isFetch(r.body) && r.body.includes(second))) await new Promise((r) => setTimeout(r, 10))
      assert.is(b.stats.requests, 0) // asked the broker, not the server
      server.intercept = null
      child.kill('SIGKILL')
      await exited
      assert.is(hashObject('blob', await read), second)
      assert.is(b.stats.objectsFetched, 1)
      // The next fetch finds no broker: this store becomes it, and a new store follows it.
      await readAll(b, [third])
      const c = await openStore({ remote: await openRemote(url), cacheDir: cache })
      await readAll(c, [fourth])
      assert.is(c.stats.requests, 0)
      assert.is(b.stats.objectsServed, 1)
      await c.close()
    } finally {
      child.kill('SIGKILL')
      await b.close()
    }
  })
})

// Eight mounts reading the same files in step: a follower's read-ahead, run beside the broker's,
// made the server answer twice the requests. The broker tells a follower which of its reads another
// process was already fetching; its read-ahead then leaves the guessing to that one.
test('a follower whose read joins what another process is fetching is told it trailed; a read nobody fetches leads', async () => {
  await withServedCache(sampleFiles(20), async ({ repo, server, url, cache }) => {
    const [first, x, y, z, w] = blobsOf(repo)
    const a = await openStore({ remote: await openRemote(url), cacheDir: cache })
    const b = await openStore({ remote: await openRemote(url), cacheDir: cache })
    try {
      await readAll(a, [first]) // a is the broker
      let release!: () => void
      let heldX!: () => void
      let askedZ!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const xHeld = new Promise<void>((r) => (heldX = r))
      const zAsked = new Promise<void>((r) => (askedZ = r))
      server.intercept = (r) => {
        if (r.method !== 'POST' || !isFetch(r.body)) return undefined
        if (r.body.includes(x)) return heldX(), { after: gate }
        if (r.body.includes(z)) askedZ()
        return undefined
      }
      const followed: Record<string, boolean[]> = { a: [], b: [] }
      const read = (s: Store, who: string, oid: string, along: string) =>
        s.readBlob(oid, { asker: who, along: () => [along], followed: (t) => followed[who].push(t) })
      const readA = read(a, 'a', x, y)
      await xHeld
      // The follower does not know yet: its guess goes along, and reaches the server while x is held.
      const readB = read(b, 'b', x, z)
      await zAsked
      release()
      await Promise.all([readA, readB])
      server.intercept = null
      assert.equal(followed, { a: [false], b: [true] })
      await read(b, 'b', w, first)
      assert.equal(followed.b, [true, false])
      assert.is(b.stats.requests, 0)
    } finally {
      server.intercept = null
      await a.close()
      await b.close()
    }
  })
})

// The same for sizes: eight mounts each walked and sized the whole tree beside the broker's walk.
test('a follower whose size query the broker was already making walks no region; a query nobody makes ends that', async () => {
  const files = Array.from({ length: 900 }, (_, i) => ({ path: `d${String(Math.floor(i / 3)).padStart(3, '0')}/f${i % 3}.txt`, content: `${i}\n`.repeat(1 + (i % 7)) }))
  await withServedCache(files, async ({ repo, server, url, cache }) => {
    const a = await openStore({ remote: await openRemote(url), cacheDir: cache })
    const b = await openStore({ remote: await openRemote(url), cacheDir: cache })
    try {
      const [viewA, viewB] = [await openLower(a, repo.head), await openLower(b, repo.head)]
      const loads = b.stats.requests // each loads the commit's trees itself
      const file = async (view: LowerView, path: string) => (await view.lookupPath(path))!
      const [firstA, firstB, far, near] = [await file(viewA, 'd000/f0.txt'), await file(viewB, 'd000/f0.txt'), await file(viewB, 'd200/f0.txt'), await file(viewB, 'd250/f0.txt')]
      let release!: () => void
      let heldQuery!: () => void
      const gate = new Promise<void>((r) => (release = r))
      const held = new Promise<void>((r) => (heldQuery = r))
      server.intercept = (r) => (r.body.includes('command=object-info') ? (heldQuery(), { after: gate }) : undefined)
      const sizeA = viewA.size(firstA) // a's walk asks the server: a becomes the broker
      await held
      server.intercept = null
      const sizeB = viewB.size(firstB) // b's walk asks the broker for the same ids
      while (a.stats.sizesServed === 0) await new Promise((r) => setTimeout(r, 2))
      release()
      await Promise.all([sizeA, sizeB])
      const queries = () => server.log.filter((r) => r.body.includes('command=object-info')).map(describeRequest)
      server.reset()
      assert.is(await viewB.size(far), 24) // "600\n" six times
      assert.equal(queries(), ['object-info ids=3'], 'trailing: its own directory only')
      server.reset()
      await viewB.size(near)
      const [q] = queries()
      assert.ok(q && Number(/ids=(\d+)/.exec(q)![1]) > 3, `leading again: a region (${q})`)
      assert.is(b.stats.requests, loads, 'its sizes all came through the broker')
    } finally {
      server.intercept = null
      await a.close()
      await b.close()
    }
  })
})

test('a broker that lies, speaks nonsense or fails on its own: the follower fetches what is not stored itself', async () => {
  await withServedCache(sampleFiles(10), async ({ repo, url, cache }) => {
    const [first, second, third, fourth, fifth, sixth] = blobsOf(repo)
    const b = await openStore({ remote: await openRemote(url), cacheDir: cache })
    let answer = (id: number, _oids: string[]) => JSON.stringify({ id }) + '\n' // "fetched", without fetching
    const fake: Server = createServer((s) => {
      s.setEncoding('utf8')
      s.on('data', (d: string) => {
        for (const line of d.split('\n').filter(Boolean)) s.write(answer(JSON.parse(line).id, JSON.parse(line).oids))
      })
      s.on('error', () => {})
    })
    await new Promise<void>((r) => fake.listen(brokerName(b.db.dir), () => r()))
    writeFileSync(join(b.db.dir, 'broker-token'), 'any')
    try {
      // Objects handed over are used only when their bytes hash to their ids: forged ones are
      // fetched from the server, true ones are read as handed (nothing stored, nothing asked).
      const handing = (body: (oid: string) => Buffer) => (id: number, oids: string[]) =>
        JSON.stringify({ id, objects: oids.map((o) => [o, 'blob', body(o).toString('base64')]) }) + '\n'
      answer = handing(() => Buffer.from('forged'))
      await readAll(b, [fifth])
      assert.is(b.stats.objectsFetched, 1)
      answer = handing((o) => execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'blob', o]))
      await readAll(b, [sixth])
      assert.is(b.stats.objectsFetched, 1)
      assert.is(b.stats.requests, 1)
      answer = (id) => JSON.stringify({ id }) + '\n'
      await readAll(b, [first])
      assert.is(b.stats.objectsFetched, 2)
      answer = () => 'not json\n'
      await readAll(b, [second])
      assert.is(b.stats.objectsFetched, 3)
      // A failure of the broker's own (its disk) is not the follower's: it fetches itself. The
      // server's failure, as the broker tells it, is.
      let failed: string[] = []
      answer = (id) => JSON.stringify({ id, failed, error: { name: 'Error', code: 'ENOENT', message: 'ENOENT: no such file or directory' } }) + '\n'
      failed = [third]
      await readAll(b, [third])
      assert.is(b.stats.objectsFetched, 4)
      answer = (id) => JSON.stringify({ id, failed: [fourth], error: { name: 'RemoteError', code: 'http', message: 'the server answered 503' } }) + '\n'
      const err = await b.readBlob(fourth).then(() => null, (e: Error & { code?: string }) => e)
      assert.is(err?.message, 'the server answered 503')
      assert.is(err?.code, 'http')
      assert.is(b.stats.objectsFetched, 4)
    } finally {
      fake.close()
      await b.close()
    }
  })
})

test.run()
