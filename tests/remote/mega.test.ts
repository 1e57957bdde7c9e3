import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { MegaRemote, fetchClFiles } from '../../lib/remote/mega.ts'
import { openStore } from '../../lib/store/mod.ts'
import { startMegaServer } from '../helpers/mega_server.ts'
import { git, lsTree, makeBareRepo, sampleFiles } from '../helpers/repos.ts'
import { storeScenario } from '../store/_scenario.ts'

test('mega: the store scenario (trees via git endpoint, blobs and sizes via REST, push)', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(40) })
  const mega = await startMegaServer(repo.path)
  try {
    await storeScenario(repo, () => openRemote(mega.base, { mega: true }))
    assert.ok(mega.log.some((l) => l.startsWith('/api/v1/file/blob/')))
  } finally {
    await mega.close()
    repo.cleanup()
  }
})

test('mega: listings, raw trees, sizes by HEAD, latest commit, CL files, --path mount', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(20) })
  const mega = await startMegaServer(repo.path)
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    const remote = (await openRemote(mega.base, { mega: true, path: '/src' })) as MegaRemote
    const rows = lsTree(repo.path, 'main:src').filter((r) => !r.path.includes('/'))
    const listing = await remote.listDir('')
    assert.equal(listing.map((e) => [e.name, e.oid, e.content_type]).sort(), rows.map((r) => [r.path, r.oid, r.type === 'tree' ? 'directory' : 'file']).sort())
    const srcTree = git(repo.path, ['rev-parse', 'main:src']).trim()
    assert.is((await remote.treeAt('')).oid, srcTree)
    assert.is(await remote.dirHash('lib'), git(repo.path, ['rev-parse', 'main:src/lib']).trim())
    assert.is((await remote.latestCommit('lib')).oid, repo.head)

    const store = await openStore({ remote, cacheDir: cache })
    const head = await store.resolveRef('main')
    await store.loadCommit(head)
    assert.is(await store.rootTree(head), srcTree)
    const blob = lsTree(repo.path, 'main').find((r) => r.path === 'data/blob.bin')!.oid
    mega.reset()
    assert.is(await store.blobSize(blob), 3000)
    assert.equal(mega.log, [`/api/v1/file/blob/${blob}`]) // a HEAD, no download
    assert.is(await store.has(blob), false)

    mega.cls.set('CL123', [
      { path: 'src/new.ts', sha: 'sha1:' + blob, action: 'new' },
      { path: 'src/moved.ts', sha: blob, action: 'renamed', old_path: 'src/main.ts' },
      { path: 'README.md', sha: '', action: 'deleted' },
    ])
    const files = await fetchClFiles(mega.base, 'CL123')
    assert.equal(files[0], { path: 'src/new.ts', oid: blob, action: 'new' })
    assert.equal(files[1], { path: 'src/moved.ts', oid: blob, action: 'renamed', oldPath: 'src/main.ts' })
    assert.is(files[2].action, 'deleted')
    try {
      await remote.fetchClFiles('NOPE')
      assert.unreachable()
    } catch (err) {
      assert.match((err as Error).message, /CL NOPE not found/)
    }
    const bad = (await openRemote(mega.base, { mega: true, path: '/nope' })) as MegaRemote
    const s2 = await openStore({ remote: bad, cacheDir: cache })
    try {
      await s2.rootTree(head)
      assert.unreachable()
    } catch (err) {
      assert.match((err as Error).message, /"\/nope" is not a directory/)
    }
  } finally {
    await mega.close()
    rmSync(cache, { recursive: true, force: true })
    repo.cleanup()
  }
})

test.run()
