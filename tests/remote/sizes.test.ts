// Blob sizes without contents: object-info where advertised, else one batch fetch; never wrong.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { startGitServer } from '../helpers/git_server.ts'
import { git, lsTree, makeBareRepo, sampleFiles } from '../helpers/repos.ts'

for (const objectInfo of [true, false]) {
  test(`sizes with object-info ${objectInfo ? 'advertised' : 'off'}`, async () => {
    const repo = await makeBareRepo({ files: sampleFiles(50) })
    const server = await startGitServer(dirname(repo.path))
    // Git 2.39 always advertises object-info: hide it the way an older or stricter server would.
    if (!objectInfo) {
      server.intercept = (r) => (r.method === 'GET' ? { rewriteResponse: (b) => Buffer.from(b.toString('latin1').replace('0010object-info\n', ''), 'latin1') } : undefined)
    }
    const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
    try {
      const store = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
      await store.loadCommit(repo.head)
      const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob')
      server.reset()
      const sizes = await store.blobSizes(blobs.map((b) => b.oid))
      for (const b of blobs) assert.is(sizes.get(b.oid), Number(git(repo.path, ['cat-file', '-s', b.oid])), b.path)
      const bodies = server.log.map((r) => r.body.toString('latin1'))
      assert.is(bodies.some((b) => b.includes('command=object-info')), objectInfo)
      assert.is(bodies.filter((b) => b.includes('command=fetch')).length, objectInfo ? 0 : 1)
      const someBlob = blobs.find((b) => b.path === 'data/blob.bin')!.oid
      assert.is(await store.has(someBlob), !objectInfo) // object-info downloads nothing
      // Second ask: answered from memory, no request.
      server.reset()
      assert.is(await store.blobSize(someBlob), 3000)
      assert.is(server.requests, 0)
    } finally {
      await server.close()
      rmSync(cache, { recursive: true, force: true })
      repo.cleanup()
    }
  })
}

test('laziness: a tree fetch downloads no blobs; reading one file fetches one blob', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(100) })
  const server = await startGitServer(dirname(repo.path))
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    const store = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
    await store.loadCommit(repo.head)
    const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob')
    for (const b of blobs) assert.is(await store.has(b.oid), false)
    server.reset()
    const one = blobs.find((b) => b.path === 'src/main.ts')!
    assert.is(new TextDecoder().decode(await store.readBlob(one.oid)), 'export const x = 1\n')
    assert.is(server.requests, 1)
    const others = blobs.filter((b) => b.oid !== one.oid).map((b) => b.oid)
    assert.is((await Promise.all(others.map((o) => store.has(o)))).filter(Boolean).length, 0)
  } finally {
    await server.close()
    rmSync(cache, { recursive: true, force: true })
    repo.cleanup()
  }
})

test.run()
