// A server that misbehaves: each case is a clear error and nothing is stored.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { commitFiles, git, lsTree, makeBareRepo, sampleFiles, writeRawObject, type TestRepo } from '../helpers/repos.ts'
import { expectError, storedObjects } from '../helpers/store_checks.ts'

let repo: TestRepo
let server: GitServer
let cache: string

async function freshStore(options: { timeoutMs?: number } = {}): Promise<Store> {
  rmSync(cache, { recursive: true, force: true })
  return openStore({ remote: await openRemote(server.url('repo.git'), options), cacheDir: cache })
}

const isFetch = (body: Buffer) => body.includes('command=fetch')

test.before(async () => {
  repo = await makeBareRepo({ files: sampleFiles(30) })
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

test('truncated pack', async () => {
  const store = await freshStore()
  server.intercept = (r) => (r.method === 'POST' && isFetch(r.body) ? { rewriteResponse: (b) => b.subarray(0, Math.floor(b.length * 0.6)) } : undefined)
  const err = await expectError(store.loadCommit(repo.head), /Truncated|ended the reply/)
  assert.ok((err as { code?: string }).code)
  assert.equal(storedObjects(store), [])
})

test('pack with a bad checksum', async () => {
  const store = await freshStore()
  const blob = lsTree(repo.path, repo.head).find((r) => r.path === 'data/blob.bin')!.oid
  server.intercept = (r) =>
    r.method === 'POST' && isFetch(r.body)
      ? { rewriteResponse: (b) => { const c = Buffer.from(b); c[c.length - 10] ^= 0xff; return c } }
      : undefined
  await expectError(store.readBlob(blob), /checksum|Corrupt|Malformed|side-band/)
  assert.equal(storedObjects(store), [])
})

test('wrong object for the id asked', async () => {
  const store = await freshStore()
  const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob' && r.path.startsWith('pkg/'))
  const [a, b] = [blobs[0].oid, blobs[1].oid]
  server.intercept = (r) => (r.method === 'POST' && isFetch(r.body) ? { rewriteRequest: (body) => Buffer.from(body.toString('latin1').replace(`want ${a}`, `want ${b}`), 'latin1') } : undefined)
  const err = await expectError(store.readBlob(a), new RegExp(`did not send.*${a}`))
  assert.is((err as { code?: string }).code, 'integrity')
  assert.equal(storedObjects(store), [])
})

test('hostile tree entries are refused', async () => {
  for (const bad of ['..', '.GIT', 'a/b', '.']) {
    const blob = writeRawObject(repo.path, 'blob', Buffer.from('x'))
    const tree = writeRawObject(repo.path, 'tree', Buffer.concat([Buffer.from(`100644 ${bad}\0`), Buffer.from(blob, 'hex')]))
    const root = writeRawObject(repo.path, 'tree', Buffer.concat([Buffer.from(`40000 dir\0`), Buffer.from(tree, 'hex')]))
    const commit = git(repo.path, ['commit-tree', root, '-m', 'evil'], undefined).trim()
    git(repo.path, ['update-ref', 'refs/heads/evil', commit])
    const store = await freshStore()
    await expectError(store.loadCommit(commit), /could escape or confuse the file system/)
    assert.equal(storedObjects(store), [])
  }
})

test('HTTP 500 is retried (POST included), then reported', async () => {
  const store = await freshStore()
  let failures = 0
  server.intercept = (r) => (r.method === 'POST' && failures++ < 1 ? { status: 500 } : undefined)
  const info = await store.loadCommit(repo.head)
  assert.is(info.oid, repo.head)
  const store2 = await freshStore()
  server.reset()
  server.intercept = (r) => (r.method === 'POST' ? { status: 500, body: 'boom' } : undefined)
  await expectError(store2.loadCommit(repo.head), /HTTP 500/)
  assert.ok(server.log.filter((r) => r.method === 'POST').length >= 3, 'POST was retried')
  assert.equal(storedObjects(store2), [])
})

test('a hung server times out', async () => {
  const store = await freshStore({ timeoutMs: 800 })
  await store.resolveRef('main')
  server.intercept = (r) => (r.method === 'POST' ? { hang: true } : undefined)
  await expectError(store.loadCommit(repo.head), /did not answer within|stopped sending/)
  assert.equal(storedObjects(store), [])
})

test('secrets never appear in errors', async () => {
  const url = server.url('repo.git').replace('http://', 'http://alice:s3cr3t@')
  server.intercept = () => ({ status: 403 })
  const remote = await openRemote(url)
  const err = await expectError(remote.listRefs(), /refused access/)
  assert.not.match(err.message, /s3cr3t/)
  assert.not.match(remote.describe(), /s3cr3t/)
  assert.equal(server.log.at(-1)?.headers.authorization, 'Basic ' + Buffer.from('alice:s3cr3t').toString('base64'))
})

test('a ref that does not exist', async () => {
  const store = await freshStore()
  await expectError(store.resolveRef('nope'), /Ref "nope" does not exist.*main/)
  await commitFiles(repo.path, [{ path: 'later.txt', content: 'later' }], { branch: 'other' })
  assert.match(await store.resolveRef('other'), /^[0-9a-f]{40}$/)
})

test.run()
