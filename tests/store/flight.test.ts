// Single flight of blob fetches across processes of one cache, counted at a real git
// http-backend: four processes reading the same blobs at once fetch each of them once in all,
// and a claim left by a process that died is taken over.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { EMPTY_BLOB_OID, hashObject } from '../../lib/git/sha1.ts'
import { pidStartTime } from '../../lib/registry/mountinfo.ts'
import { hostname } from 'node:os'
import { lsTree, sampleFiles } from '../helpers/repos.ts'
import { runChild, withServedCache } from './_processes.ts'

const run = (args: string[]) => runChild<{ requests: number; objectsFetched: number; objectsShared: number }>('_fetch_child.ts', args)

test('four processes reading the same blobs at once fetch each one once in all', async () => {
  await withServedCache(sampleFiles(300), async ({ repo, server, url, cache }) => {
    const oids = [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((r) => r.oid))].filter((o) => o !== EMPTY_BLOB_OID)
    const runs = await Promise.all([1, 2, 3, 4].map(() => run([url, cache, ...oids])))
    const fetched = runs.reduce((n, r) => n + r.objectsFetched, 0)
    assert.is(fetched, oids.length, JSON.stringify(runs))
    // The others found them fetched by another process (or already on disk when they looked).
    for (const r of runs) assert.ok(r.objectsFetched + r.objectsShared <= oids.length)
  })
})

test('a claim of a process that died is taken over; a live holder is waited for', async () => {
  await withServedCache(sampleFiles(4), async ({ repo, server, url, cache }) => {
    const blobs = [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((r) => r.oid))]
    const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
    const flight = join(store.db.dir, 'flight')
    mkdirSync(flight, { recursive: true })
    // A holder that exited: its pid is gone.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    symlinkSync(`${dead.stdout} x ${hostname()}`, join(flight, blobs[0]))
    assert.is(hashObject('blob', await store.readBlob(blobs[0])), blobs[0])
    assert.is(store.stats.objectsFetched, 1)
    // A live holder: nothing is fetched while it lives; once it is killed the claim is taken over.
    const holder = spawn('sleep', ['60'])
    await new Promise((r) => holder.once('spawn', r))
    symlinkSync(`${holder.pid} ${pidStartTime(holder.pid!) ?? ''} ${hostname()}`, join(flight, blobs[1]))
    server.reset()
    let done = false
    const read = store.readBlob(blobs[1]).then((b) => ((done = true), b))
    await new Promise((r) => setTimeout(r, 300))
    assert.is(done, false)
    assert.is(server.requests, 0)
    holder.kill('SIGKILL')
    assert.is(hashObject('blob', await read), blobs[1])
    assert.is(store.stats.objectsFetched, 2)
    // gc sweeps the claims a killed process left behind.
    const killed = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
    symlinkSync(`${killed.stdout} x ${hostname()}`, join(flight, blobs[2]))
    await store.gc({ maxBytes: 1 << 30 })
    assert.equal(readdirSync(flight), [])
    await store.close()
  })
})

test.run()
