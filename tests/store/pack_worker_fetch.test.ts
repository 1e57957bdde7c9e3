// The staged tree fetch with its packs parsed in the pack worker (StoreOptions.packWorker), against
// git http-backend: every tree equal to git's (deltas included), and a hostile tree entry, a
// truncated pack or a bad checksum in the parallel requests is a clear error with nothing stored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { git, lsTree, makeBareRepo, writeRawObject, type RepoFile, type TestRepo } from '../helpers/repos.ts'
import { expectError, storedObjects } from '../helpers/store_checks.ts'

/** 80 packages (a frontier of 80 trees: three parallel requests), with look-alike trees (deltas once repacked). */
function packages(): RepoFile[] {
  const files: RepoFile[] = [{ path: 'README.md', content: 'top\n' }]
  for (let i = 0; i < 80; i++) {
    for (let k = 0; k < 30; k++) files.push({ path: `pkgs/p${i}/src/module-with-a-long-name-${k}.ts`, content: k === 3 ? `export const n = ${i}\n` : `export const k = ${k}\n` })
    files.push({ path: `pkgs/p${i}/docs/notes.md`, content: `notes ${i % 7}\n` })
  }
  return files
}

let repo: TestRepo
let server: GitServer
let cache: string

test.before(async () => {
  repo = await makeBareRepo({ files: packages() })
  // One pack with deltas between the look-alike trees: upload-pack sends them as OFS_DELTA.
  git(repo.path, ['repack', '-adf', '--window=50', '-q'])
  server = await startGitServer(dirname(repo.path))
  cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
})
test.after(async () => {
  await server.close()
  repo.cleanup()
  rmSync(cache, { recursive: true, force: true })
})
test.before.each(() => {
  server.intercept = null
})

async function freshStore(packWorker: boolean): Promise<Store> {
  rmSync(cache, { recursive: true, force: true })
  return openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache, packWorker })
}

const belowTop = (body: Buffer) => body.includes('command=fetch') && body.includes('filter blob:none')

test('the server pack has tree deltas', () => {
  const pack = readdirSync(join(repo.path, 'objects', 'pack')).find((f) => f.endsWith('.idx'))!
  const rows = git(repo.path, ['verify-pack', '-v', join(repo.path, 'objects', 'pack', pack)]).split('\n').map((l) => l.split(/\s+/))
  assert.ok(rows.filter((f) => f[1] === 'tree' && f.length >= 7).length >= 20, 'tree deltas')
})

test('every tree through the worker equals git ls-tree, with the same requests as in-process', async () => {
  const requests: number[] = []
  for (const packWorker of [true, false]) {
    const store = await freshStore(packWorker)
    server.reset()
    const info = await store.loadCommit(repo.head)
    assert.is(server.log.filter((r) => belowTop(r.body)).length, 3, 'three parallel requests below the top')
    requests.push(store.stats.requests)
    const trees = lsTree(repo.path, repo.head).filter((r) => r.type === 'tree')
    assert.ok(trees.length > 240)
    for (const t of [{ oid: info.tree }, ...trees]) {
      const want = git(repo.path, ['ls-tree', t.oid]).trim().split('\n').map((l) => l.split('\t')[1])
      assert.equal((await store.readTree(t.oid)).map((e) => e.name), want, `tree ${t.oid}`)
    }
    assert.is(store.stats.requests, requests.at(-1), 'every tree was in the fetch')
    await store.close()
  }
  assert.is(requests[0], requests[1])
})

test('a truncated pack below the top: the truncated-pack error, nothing stored', async () => {
  const store = await freshStore(true)
  server.intercept = (r) => (r.method === 'POST' && belowTop(r.body) ? { rewriteResponse: (b) => b.subarray(0, Math.floor(b.length * 0.6)) } : undefined)
  await expectError(store.loadCommit(repo.head), /Truncated|ended the reply/)
  assert.equal(storedObjects(store), [])
  await store.close()
})

test('a bad pack checksum below the top: a clear error, nothing stored', async () => {
  const store = await freshStore(true)
  server.intercept = (r) =>
    r.method === 'POST' && belowTop(r.body)
      ? { rewriteResponse: (b) => { const c = Buffer.from(b); c[c.length - 10] ^= 0xff; return c } }
      : undefined
  await expectError(store.loadCommit(repo.head), /checksum|Corrupt|Malformed|side-band/)
  assert.equal(storedObjects(store), [])
  await store.close()
})

test('a hostile tree entry below the top is refused, nothing stored', async () => {
  const blob = writeRawObject(repo.path, 'blob', Buffer.from('x'))
  const evil = writeRawObject(repo.path, 'tree', Buffer.concat([Buffer.from('100644 ..\0'), Buffer.from(blob, 'hex')]))
  // pkgs/p40/src replaced by the hostile tree: three levels below the root, in a parallel request.
  const lines = (t: string) => git(repo.path, ['ls-tree', t]).trim().split('\n')
  const swap = (tree: string, name: string, to: string) => git(repo.path, ['mktree'], lines(tree).map((l) => (l.endsWith(`\t${name}`) ? l.replace(/[0-9a-f]{40}/, to) : l)).join('\n') + '\n').trim()
  const sub = (tree: string, name: string) => lines(tree).find((l) => l.endsWith(`\t${name}`))!.split(/\s+/)[2]
  const root = git(repo.path, ['rev-parse', `${repo.head}^{tree}`]).trim()
  const pkgs = sub(root, 'pkgs')
  const p40 = sub(pkgs, 'p40')
  const newRoot = swap(root, 'pkgs', swap(pkgs, 'p40', swap(p40, 'src', evil)))
  const commit = git(repo.path, ['commit-tree', newRoot, '-m', 'evil']).trim()
  git(repo.path, ['update-ref', 'refs/heads/evil', commit])
  const store = await freshStore(true)
  server.reset()
  await expectError(store.loadCommit(commit), /could escape or confuse the file system/)
  assert.ok(server.log.filter((r) => belowTop(r.body)).length >= 1, 'the entry came in a request below the top')
  assert.equal(storedObjects(store), [])
  await store.close()
})

test.run()
