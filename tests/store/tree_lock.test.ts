// Separate processes loading the same commit into one cache fetch its trees once (a lock file in
// the store), and a lock left by a killed process does not block the next one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdtempSync, readdirSync, rmSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { lsTree, makeBareRepo, type RepoFile, type TestRepo } from '../helpers/repos.ts'
import { startChild } from './_processes.ts'

const start = (args: string[]) => startChild<{ requests: number; trees: number }>('_load_child.ts', args)

/** 120 top directories of 4 subdirectories of 2 files: ~600 trees, enough for the parallel stage. */
function manyDirs(): RepoFile[] {
  const files: RepoFile[] = []
  for (let i = 0; i < 120; i++) for (let j = 0; j < 4; j++) for (let k = 0; k < 2; k++) files.push({ path: `d${i}/s${j}/f${k}.txt`, content: `${i} ${j} ${k}\n` })
  return files
}

let repo: TestRepo
let server: GitServer
let treeCount = 0
const caches: string[] = []
const newCache = () => {
  const c = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  caches.push(c)
  return c
}

test.before(async () => {
  repo = await makeBareRepo({ files: manyDirs() })
  server = await startGitServer(dirname(repo.path))
  treeCount = 1 + lsTree(repo.path, repo.head).filter((r) => r.type === 'tree').length
})

test.after(async () => {
  await server.close()
  for (const c of caches) rmSync(c, { recursive: true, force: true })
  repo.cleanup()
})

test('three processes loading the same commit into one cache fetch its trees once', async () => {
  const url = server.url('repo.git')
  server.reset()
  const one = await start([url, newCache(), repo.head]).done
  assert.is(one.trees, treeCount)
  const oneBytes = server.bytesSent
  const cache = newCache()
  server.reset()
  const all = await Promise.all([start([url, cache, repo.head, 'rootFirst']).done, start([url, cache, repo.head]).done, start([url, cache, repo.head, 'rootFirst']).done])
  for (const r of all) assert.is(r.trees, treeCount)
  const ratio = server.bytesSent / oneBytes
  console.log(`  three processes: ${server.bytesSent} bytes, one load ${oneBytes} bytes (${ratio.toFixed(2)}×)`)
  assert.ok(ratio < 1.5, `three processes pulled ${ratio.toFixed(2)}× one load's bytes; their stats: ${JSON.stringify(all)}`)
  assert.equal(readdirSync(join(cache, 'objects', readdirSync(join(cache, 'objects'))[0], 'loaded')), [repo.head])
})

test('a lock left by a killed process is taken over', async () => {
  const url = server.url('repo.git')
  const cache = newCache()
  // The first loader's subtree requests never answer: it holds the lock when it is killed.
  server.intercept = (req) => (req.path.endsWith('git-upload-pack') && req.body.includes('blob:none') ? { hang: true } : undefined)
  const first = start([url, cache, repo.head])
  const objects = join(cache, 'objects')
  const lockPath = () => {
    const key = existsSync(objects) ? readdirSync(objects)[0] : undefined
    return key ? join(objects, key, 'loaded', `${repo.head}.lock`) : ''
  }
  const t0 = Date.now()
  while (!(lockPath() && existsSync(lockPath()))) {
    if (Date.now() - t0 > 20000) throw new Error('the first loader never took the lock')
    await new Promise((r) => setTimeout(r, 20))
  }
  first.p.kill('SIGKILL')
  await first.done.catch(() => {})
  assert.ok(existsSync(lockPath()), 'the killed process left its lock')
  server.intercept = null
  // The lock is kept fresh, as a live holder's heartbeat would: only the dead pid can explain a
  // takeover (waiting for the lock to age out would never end, and the test would fail on timeout).
  const lock = lockPath()
  const fresh = setInterval(() => { try { const now = new Date(); utimesSync(lock, now, now) } catch {} }, 200)
  const r = await start([url, cache, repo.head]).done.finally(() => clearInterval(fresh))
  assert.is(r.trees, treeCount)
  assert.ok(r.requests >= 1, 'the second process fetched the trees itself')
  assert.not.ok(existsSync(lockPath()), 'the lock is removed after the load')
})

test('when the lock holder fails, a waiting store loads the trees itself', async () => {
  const url = server.url('repo.git')
  const cache = newCache()
  let failing = true
  server.intercept = (req) => (failing && req.path.endsWith('git-upload-pack') && req.body.includes('blob:none') ? { status: 500, body: 'broken' } : undefined)
  try {
    const a = await openStore({ remote: await openRemote(url), cacheDir: cache })
    const b = await openStore({ remote: await openRemote(url), cacheDir: cache })
    const first = a.loadCommit(repo.head)
    const lock = join(a.db.dir, 'loaded', `${repo.head}.lock`)
    while (!existsSync(lock)) await new Promise((r) => setTimeout(r, 5))
    const second = b.loadCommit(repo.head, { rootFirst: true })
    const err = await first.then(() => null, (e: Error) => e)
    failing = false
    assert.ok(err, 'the holder failed')
    assert.not.ok(existsSync(join(a.db.dir, 'loaded', repo.head)), 'no marker after a failed load')
    const info = await second
    await b.loadCommit(repo.head)
    assert.ok(existsSync(join(a.db.dir, 'loaded', repo.head)))
    assert.not.ok(existsSync(lock))
    for (const t of lsTree(repo.path, repo.head).filter((r) => r.type === 'tree')) assert.ok(await b.db.has(t.oid))
    assert.is(info.tree, (await a.readCommit(repo.head)).tree)
    await a.close()
    await b.close()
  } finally {
    server.intercept = null
  }
})

test.run()
