// History on demand against a real git http-backend: walking back (`HEAD~N`, `log -n N`) fetches
// commits only, in one request per walk, and a second walk asks the server nothing; a checkout's
// target brings only the trees the current commit lacks.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore, resolveRevision, type Store } from '../../lib/store/mod.ts'
import { lsTree } from '../helpers/repos.ts'
import { createWorkspaceState } from '../../lib/workspace/state.ts'
import { openWorkspace } from '../../lib/workspace/workspace.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { commitFiles, git, makeBareRepo, sampleFiles, type TestRepo } from '../helpers/repos.ts'

let repo: TestRepo
let server: GitServer
let url: string
const caches: string[] = []
/** commits[i] is HEAD~(COMMITS - i): each changes one file nine directories down. */
const commits: string[] = []
const COMMITS = 40

async function freshStore(cache = mkdtempSync(join(tmpdir(), 'scorpio-hist-'))): Promise<Store> {
  caches.push(cache)
  return openStore({ remote: await openRemote(url), cacheDir: cache })
}

test.before(async () => {
  // 120 directories no commit touches (deeper than one request of changed trees reaches), beside those that change.
  const still = Array.from({ length: 100 }, (_, i) => ({ path: `lib/a${i % 20}/x/y/z/b${i}/c.txt`, content: `${i}\n` }))
  repo = await makeBareRepo({ files: [...sampleFiles(), ...still] })
  commits.push(repo.head)
  for (let i = 1; i <= COMMITS; i++) {
    commits.push(await commitFiles(repo.path, [{ path: `pkg/p${i % 5}/src/a/b/c/d/e/f${i % 3}.ts`, content: `v${i}\n` }], { parent: commits[i - 1], message: `change ${i}` }))
  }
  server = await startGitServer(dirname(repo.path))
  url = server.url('repo.git')
})
test.after(async () => {
  await server?.close()
  repo?.cleanup()
  for (const c of caches) rmSync(c, { recursive: true, force: true })
})

test('HEAD~30: one commits-only fetch, no trees; HEAD~25 after it asks nothing', async () => {
  const store = await freshStore()
  try {
    const head = await store.resolveRef('HEAD')
    const to = await resolveRevision(store, 'HEAD~30', { head })
    assert.is(to, git(repo.path, ['rev-parse', 'main~30']).trim())
    assert.is(store.stats.requests, 1)
    for (const c of [commits[COMMITS], commits[COMMITS - 15], to]) {
      assert.ok(await store.has(c), `commit ${c} stored`)
      assert.not.ok(await store.has((await store.readCommit(c)).tree), `the tree of ${c} was not fetched`)
    }
    const before = server.requests
    assert.is(await resolveRevision(store, 'HEAD~25', { head }), commits[COMMITS - 25])
    assert.is(server.requests, before)
  } finally {
    await store.close()
  }
})

test('a commit not stored comes with its ancestors: the next reads back ask nothing', async () => {
  const store = await freshStore()
  try {
    const info = await store.readCommit(commits[20])
    assert.is(store.stats.requests, 1)
    let c = info.parents[0]
    for (let i = 19; i > 0; i--) c = (await store.readCommit(c)).parents[0]
    assert.is(c, commits[0])
    assert.is(store.stats.requests, 1)
    // Past the root: a clear error, not a fetch loop.
    await resolveRevision(store, `${commits[0]}~1`).then(
      () => assert.unreachable('resolved past the root'),
      (e: Error) => assert.match(e.message, /root commit/),
    )
  } finally {
    await store.close()
  }
})

test('loadHistory brings N generations in one request, then none', async () => {
  const store = await freshStore()
  try {
    await store.loadHistory(commits[COMMITS], 35)
    assert.is(store.stats.requests, 1)
    for (let i = COMMITS; i > COMMITS - 35; i--) assert.ok(await store.has(commits[i]))
    await store.loadHistory(commits[COMMITS], 35)
    assert.is(store.stats.requests, 1)
    // Deeper: only from the first commit missing.
    await store.loadHistory(commits[COMMITS], COMMITS + 1)
    assert.is(store.stats.requests, 2)
    assert.ok(await store.has(commits[0]))
  } finally {
    await store.close()
  }
})

test('checkout target: only the trees the loaded commit lacks, a few levels per request; then local', async () => {
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-hist-'))
  const to = commits[COMMITS - 30]
  const trees = lsTree(repo.path, to).filter((e) => e.type === 'tree')
  let store = await freshStore(cache)
  try {
    await store.loadCommit(commits[COMMITS])
    const before = { ...store.stats }
    await store.loadCommit(to, { from: commits[COMMITS] })
    for (const t of trees) assert.ok(await store.has(t.oid), `tree ${t.path} stored`)
    // One commits-only fetch, then the changed trees (9 levels: root to pkg/pN/src/a/b/c/d/e) in two 5-level requests.
    assert.is(store.stats.requests - before.requests, 1 + 2)
    const changed = trees.filter((t) => !t.path.startsWith('lib')).length
    assert.ok(store.stats.objectsFetched - before.objectsFetched < trees.length - 60, `(the 120 untouched deep ones not among them) fetched ${store.stats.objectsFetched - before.objectsFetched} objects for ${changed} changed trees`)
  } finally {
    await store.close()
  }
  // Loaded for good: another process on the same cache asks nothing.
  store = await freshStore(cache)
  try {
    await store.loadCommit(to)
    assert.is(store.stats.requests, 0)
  } finally {
    await store.close()
  }
})

test('log PATH: the commits that changed it, as git log --first-parent; one request per path level', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-hist-ws-'))
  caches.push(dir)
  const stateDir = join(dir, 'state')
  await createWorkspaceState(stateDir, { remote: { url }, ref: 'main', base: commits[COMMITS], pushed: commits[COMMITS], mountpoint: join(dir, 'mnt'), cacheDir: join(dir, 'cache') })
  const store = await freshStore(join(dir, 'cache'))
  const ws = await openWorkspace(stateDir, { store })
  try {
    for (const path of ['pkg/p2/src/a/b/c/d/e/f1.ts', 'pkg/p3', 'README.md', 'no/such/file']) {
      const before = store.stats.requests
      const got = (await ws.log({ path, limit: 100 })).map((e) => e.commit)
      const want = git(repo.path, ['log', '--first-parent', '--format=%H', '-n', '100', 'main', '--', path]).split('\n').filter(Boolean)
      assert.equal(got, want, path)
      assert.ok(store.stats.requests - before <= 1 + path.split('/').length, `${path}: ${store.stats.requests - before} requests`)
    }
    assert.equal((await ws.log({ path: 'pkg/p2/src/a/b/c/d/e/f1.ts', limit: 2 })).length, 2)
  } finally {
    await ws.close()
    await store.close()
  }
})

test.run()
