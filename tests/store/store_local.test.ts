import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { lsTree, makeBareRepo, sampleFiles } from '../helpers/repos.ts'
import { storeScenario } from './_scenario.ts'

test('local remote: tree, blobs, sizes, push, gc', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(40) })
  try {
    await storeScenario(repo, () => openRemote(repo.path))
  } finally {
    repo.cleanup()
  }
})

test('batching: 200 parallel reads make few requests', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(200) })
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    const store = await openStore({ remote: await openRemote('file://' + repo.path), cacheDir: cache })
    const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob')
    await Promise.all([...blobs, ...blobs].map((b) => store.readBlob(b.oid)))
    assert.ok(store.stats.requests <= 3, `requests: ${store.stats.requests}`)
    assert.is(store.stats.objectsFetched, new Set(blobs.map((b) => b.oid)).size - 1) // empty blob answered locally
  } finally {
    rmSync(cache, { recursive: true, force: true })
    repo.cleanup()
  }
})

test.run()
