// One measured operation of remote_bench.ts, in its own process (for a clean peak RSS).
//   remote_bench_child.ts trees|subtree|all URL CACHE [DIR]
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'

const [op, url, cache, dir] = process.argv.slice(2)

async function blobsUnder(store: Store, tree: string, out: string[]): Promise<string[]> {
  const entries = await store.readTree(tree)
  const subs: Promise<unknown>[] = []
  for (const e of entries) {
    if (e.mode === '40000') subs.push(blobsUnder(store, e.oid, out))
    else if (e.mode !== '160000') out.push(e.oid)
  }
  await Promise.all(subs)
  return out
}

const t0 = performance.now()
const lap = (s: string) => process.env.BENCH_DEBUG && console.error(s, (performance.now() - t0).toFixed(0), `(process time ${performance.now().toFixed(0)})`)
const store = await openStore({ remote: await openRemote(url), cacheDir: cache })
const head = await store.resolveRef('HEAD')
lap("resolveRef")
const info = await store.loadCommit(head)
lap("loadCommit")
let objects = 0
if (op === 'subtree' || op === 'all') {
  let tree = info.tree
  if (op === 'subtree') {
    for (const part of dir.split('/')) tree = (await store.readTree(tree)).find((e) => e.name === part)!.oid
  }
  const blobs = await blobsUnder(store, tree, [])
  lap(`walked ${blobs.length} blobs`)
  const p = await store.prefetch(blobs)
  objects = p.objects
}
const ms = performance.now() - t0
process.stdout.write(JSON.stringify({ ms, objects, requests: store.stats.requests, maxRssKb: process.resourceUsage().maxRSS }))
