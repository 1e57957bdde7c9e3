// The store scenario every backend must pass: tree = ls-tree, sizes, blobs, corrupt file, push, non-ff, gc.
import * as assert from 'uvu/assert'
import { closeSync, mkdtempSync, openSync, readdirSync, rmSync, writeFileSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { hashObject } from '../../lib/git/sha1.ts'
import { serializeCommit } from '../../lib/git/commit.ts'
import { serializeTree } from '../../lib/git/tree.ts'
import { commitFiles, git, lsTree, type TestRepo } from '../helpers/repos.ts'
import type { Remote } from '../../lib/remote/mod.ts'

async function walk(store: Store, tree: string, prefix = '', out: { mode: string; oid: string; path: string }[] = []) {
  for (const e of await store.readTree(tree)) {
    const p = prefix + e.name
    out.push({ mode: e.mode === '40000' ? '040000' : e.mode, oid: e.oid, path: p })
    if (e.mode === '40000') await walk(store, e.oid, p + '/', out)
  }
  return out
}

export async function storeScenario(repo: TestRepo, makeRemote: () => Promise<Remote>): Promise<void> {
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    const remote = await makeRemote()
    const store = await openStore({ remote, cacheDir: cache })
    const head = await store.resolveRef('main')
    assert.is(head, repo.head)
    assert.is(await store.resolveRef('HEAD'), repo.head)
    const info = await store.loadCommit(head)
    const rows = await walk(store, info.tree)
    const expected = lsTree(repo.path, head).map((r) => ({ mode: r.mode, oid: r.oid, path: r.path }))
    assert.equal(rows.sort((a, b) => a.path.localeCompare(b.path)), expected.sort((a, b) => a.path.localeCompare(b.path)))
    const blobs = lsTree(repo.path, head).filter((r) => r.type === 'blob')
    const sizes = await store.blobSizes(blobs.map((b) => b.oid))
    for (const b of blobs) assert.is(sizes.get(b.oid), Number(git(repo.path, ['cat-file', '-s', b.oid])))
    const bodies = await Promise.all(blobs.map((b) => store.readBlob(b.oid)))
    for (let i = 0; i < blobs.length; i++) assert.is(hashObject('blob', bodies[i]), blobs[i].oid)

    // A second store over the same cache needs no remote request for a stored object.
    // Without the cache's broker: what the disk does on its own (broker.test.ts: with it).
    const store2 = await openStore({ remote, cacheDir: cache, broker: false })
    await store2.readBlob(blobs[3].oid)
    assert.is(store2.stats.requests, 0)

    // Corrupt a file on disk: it is detected and re-fetched.
    const loc = store2.db.packs.locate(blobs[4].oid)
    if (loc) {
      const fd = openSync(loc.pack.dataPath, 'r+')
      writeSync(fd, Buffer.from('X'), 0, 1, loc.offset + loc.length - 1)
      closeSync(fd)
    } else writeFileSync(store2.db.pathOf(blobs[4].oid), 'blob 3\0bad')
    const again = await store2.readBlob(blobs[4].oid)
    assert.is(hashObject('blob', again), blobs[4].oid)
    assert.is(store2.stats.requests, 1)

    // Commit locally and push.
    const blob = await store.writeObject('blob', new TextEncoder().encode('new file\n'))
    const root = await store.readTree(info.tree)
    const tree = await store.writeObject('tree', serializeTree([...root, { mode: '100644', name: 'NEW.txt', oid: blob }]))
    const me = { name: 'T', email: 't@e', timestamp: 1700000500, timezoneOffset: 0 }
    const commit = await store.writeObject('commit', serializeCommit({ tree, parents: [head], author: me, committer: me, message: 'add\n' }))
    const r = await store.push('main', commit)
    assert.is(r.updated, true)
    assert.is(r.objects, 3)
    assert.is(git(repo.path, ['rev-parse', 'main']).trim(), commit)
    git(repo.path, ['fsck', '--strict'])
    assert.is(git(repo.path, ['show', 'main:NEW.txt']), 'new file\n')

    // Server moves on; a push from the old base is refused as non-fast-forward.
    const server = await commitFiles(repo.path, [{ path: 'other.txt', content: 'x' }])
    const c2 = await store.writeObject('commit', serializeCommit({ tree, parents: [commit], author: me, committer: me, message: 'again\n' }))
    try {
      await store.push('main', c2)
      assert.unreachable('push should be refused')
    } catch (err) {
      const m = (err as Error).message
      assert.match(m, server)
      assert.match(m, c2)
      assert.match(m, /--force/)
      assert.is((err as { code?: string }).code, 'non-fast-forward')
    }
    assert.is(git(repo.path, ['rev-parse', 'main']).trim(), server)
    await store.push('main', c2, { force: true })
    assert.is(git(repo.path, ['rev-parse', 'main']).trim(), c2)

    // gc to zero keeps exactly the pinned objects.
    await store.pin('ws1', [commit, c2])
    const res = await store.gc({ maxBytes: 0 })
    assert.ok(res.removedObjects > 0)
    const left = readdirSync(store.db.dir).filter((d) => /^[0-9a-f]{2}$/.test(d)).flatMap((d) => readdirSync(join(store.db.dir, d)).map((n) => d + n))
    assert.equal(left.sort(), [commit, c2].sort())
    assert.equal(store.db.packs.all(), [])
    await store.unpin('ws1')
    await store.gc({ maxBytes: 0 })
    assert.is(await store.has(commit), false)
  } finally {
    rmSync(cache, { recursive: true, force: true })
  }
}

