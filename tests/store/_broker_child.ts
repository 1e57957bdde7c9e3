// Child process for broker.test.ts: reads one blob through a store on a shared cache (so becoming
// the cache's broker), says "ready" and stays, serving its followers, until it is killed.
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'

const [url, cache, oid] = process.argv.slice(2)
const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
await store.readBlob(oid)
process.stdout.write('ready\n')
setInterval(() => {}, 60_000)
