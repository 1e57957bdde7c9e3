// Child process for shared_sizes.test.ts: asks a store on a shared cache for the sizes of the given blobs.
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'

const [url, cache, ...oids] = process.argv.slice(2)
const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
const sizes = await store.blobSizes(oids)
process.stdout.write(JSON.stringify({ requests: store.stats.requests, sizes: Object.fromEntries(sizes) }))
await store.close()
