// Child process for two_process.test.ts: reads every given blob through a store on a shared cache.
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { hashObject } from '../../lib/git/sha1.ts'

const [url, cache, ...oids] = process.argv.slice(2)
const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
const bodies = await Promise.all(oids.map((o) => store.readBlob(o)))
for (let i = 0; i < oids.length; i++) if (hashObject('blob', bodies[i]) !== oids[i]) throw new Error(`bad ${oids[i]}`)
process.stdout.write(JSON.stringify(store.stats))
