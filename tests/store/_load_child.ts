// Child process for tree_lock.test.ts: loads one commit's trees through a store on a shared cache,
// reads every tree of it, and prints its stats.
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'

const [url, cache, commit, mode] = process.argv.slice(2)
const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
const info = await store.loadCommit(commit, { rootFirst: mode === 'rootFirst' })
let trees = 0
const walk = async (oid: string): Promise<void> => {
  trees++
  for (const e of await store.readTree(oid)) if (e.mode === '40000') await walk(e.oid)
}
await walk(info.tree)
await store.loadCommit(commit)
process.stdout.write(JSON.stringify({ ...store.stats, trees }))
await store.close()
