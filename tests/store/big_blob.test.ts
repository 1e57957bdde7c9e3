// Big blobs through the store from a real git http-backend: inflated as they arrive (pack_reader's
// streaming path) and kept or written without a copy. What is read and what is stored equals
// `git cat-file`, on a miss (loose files) and in a prefetch (a pack); a corrupt or truncated reply
// stores nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { lsTree, makeBareRepo, sampleFiles, type TestRepo } from '../helpers/repos.ts'
import { noise } from '../helpers/bytes.ts'
import { expectError, storedObjects } from '../helpers/store_checks.ts'

let repo: TestRepo
let server: GitServer
let cache: string
let random: string
let text: string

const catFile = (oid: string) => execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'blob', oid], { maxBuffer: 1 << 28 })
const isFetch = (body: Buffer) => body.includes('command=fetch')

async function freshStore(): Promise<Store> {
  rmSync(cache, { recursive: true, force: true })
  return openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
}

test.before(async () => {
  const files = sampleFiles(20)
  files.push({ path: 'big/random.bin', content: noise(3 * 1024 * 1024 + 123, 5) })
  files.push({ path: 'big/text.txt', content: 'a generated line, very compressible\n'.repeat(70_000) })
  repo = await makeBareRepo({ files })
  server = await startGitServer(dirname(repo.path))
  cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  const rows = lsTree(repo.path, repo.head)
  random = rows.find((r) => r.path === 'big/random.bin')!.oid
  text = rows.find((r) => r.path === 'big/text.txt')!.oid
})
test.after(async () => {
  await server.close()
  repo.cleanup()
  rmSync(cache, { recursive: true, force: true })
})
test.before.each(() => {
  server.intercept = null
})

test('a big blob read on a miss equals git cat-file, in memory and on disk', async () => {
  for (const oid of [random, text]) {
    const store = await freshStore()
    const body = await store.readBlob(oid)
    assert.ok(Buffer.from(body).equals(catFile(oid)))
    // The loose file: `blob <size>\0` and the body.
    const file = readFileSync(store.db.pathOf(oid))
    assert.ok(file.equals(Buffer.concat([Buffer.from(`blob ${body.length}\0`), catFile(oid)])))
    await store.close()
    // Read back from disk by another store on the same cache.
    const again = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
    assert.ok(Buffer.from(await again.readBlob(oid)).equals(catFile(oid)))
    assert.is(again.stats.requests, 0)
    await again.close()
  }
})

test('big blobs in a prefetch go to a pack whole, and read back equal to git cat-file', async () => {
  const store = await freshStore()
  const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((r) => r.oid)
  assert.ok(blobs.length >= 8) // a pack, not loose files
  await store.prefetch(blobs)
  assert.ok(storedObjects(store).some((f) => f.endsWith('.pack')))
  await store.close()
  const again = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
  for (const oid of [random, text]) assert.ok(Buffer.from(await again.readBlob(oid)).equals(catFile(oid)))
  assert.is(again.stats.requests, 0)
  await again.close()
})

test('a corrupt big blob in the reply stores nothing', async () => {
  const store = await freshStore()
  server.intercept = (r) =>
    r.method === 'POST' && isFetch(r.body)
      ? { rewriteResponse: (b) => { const c = Buffer.from(b); c[Math.floor(c.length / 2)] ^= 0x5a; return c } }
      : undefined
  await expectError(store.readBlob(random), /Corrupt pack|checksum|inflates/)
  assert.equal(storedObjects(store), [])
  await store.close()
})

test('a reply cut inside a big blob stores nothing', async () => {
  const store = await freshStore()
  server.intercept = (r) => (r.method === 'POST' && isFetch(r.body) ? { rewriteResponse: (b) => b.subarray(0, Math.floor(b.length / 2)) } : undefined)
  await expectError(store.readBlob(random), /Truncated|ended the reply/)
  assert.equal(storedObjects(store), [])
  await store.close()
})

test.run()
