import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { lsTree, sampleFiles } from '../helpers/repos.ts'
import { runChild, withServedCache } from './_processes.ts'

const run = (args: string[]) => runChild<{ requests: number }>('_fetch_child.ts', args)

test('two processes fetch the same objects into one cache', async () => {
  await withServedCache(sampleFiles(150), async ({ repo, server, url, cache }) => {
    const oids = [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((r) => r.oid))]
    const [a, b] = await Promise.all([run([url, cache, ...oids]), run([url, cache, ...oids])])
    assert.ok(a.requests >= 1 || b.requests >= 1)
    // Afterwards every object is on disk and intact: a third store needs no request.
    server.reset()
    const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
    for (const o of oids) await store.readBlob(o)
    assert.is(store.stats.requests, 0)
    assert.is(server.requests, 0)
  })
})

test.run()
