// `scorpio stats`: what each mount process fetched and where its reads were answered (memory, disk,
// the server, another process of the cache), and per cache what is on disk. Each mount answers
// for itself over its control socket; the caches are the sum of their live mounts plus a look at
// the disk. antares answers `GET /stats` with the same process view.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { readAheadCounters } from '../lower/mod.ts'
import { listMounts } from '../registry/mod.ts'
import { DiskObjectDb, type Store } from '../store/mod.ts'
import { RECORD } from '../store/shared_records.ts'
import { AheadLedger } from '../store/ahead_ledger.ts'
import { callControl } from '../workspace/mod.ts'

export type StoreCounters = Store['stats']

export interface ProcessStats {
  pid: number
  rssBytes: number
  /** The object directory of the cache this process uses (one per remote). */
  objectDir: string
  store: StoreCounters
  /** The read-ahead of cold reads (lib/lower): what it fetched on a guess; waste is what was never read. */
  readAhead: { objects: number; bytes: number; wasteBytes: number }
  /** Blobs fetched by `scorpio prefetch` here: how many, their bytes, and the bytes not read since. */
  prefetch: { objects: number; bytes: number; unreadBytes: number }
}

export interface MountStats extends ProcessStats {
  mountpoint: string
}

export interface CacheStats {
  objectDir: string
  /** What is on disk: object files and packs, their bytes, and blob sizes kept for every process. */
  files: number
  bytes: number
  knownSizes: number
  /** The read-ahead of every process of the cache (`<db>/ahead`): distinct bytes read, and bytes
   *  fetched ahead that none has read; the waste bound holds for these together. */
  readAhead: { readBytes: number; wasteBytes: number }
  /** The sums over the live mounts of this cache. */
  mounts: number
  live: StoreCounters
}

/** This process's view (the answer to a `stats` control request). */
export function processStats(store: Store): ProcessStats {
  const ra = readAheadCounters()
  const readAhead = { objects: ra.objects, bytes: ra.bytes, wasteBytes: ra.wasteBytes }
  const prefetch = { objects: store.stats.prefetchedObjects, bytes: store.stats.prefetchedBytes, unreadBytes: store.unreadAhead().bytes }
  return { pid: process.pid, rssBytes: process.memoryUsage.rss(), objectDir: store.db.dir, store: { ...store.stats }, readAhead, prefetch }
}

async function onDisk(objectDir: string): Promise<Omit<CacheStats, 'objectDir' | 'mounts' | 'live'>> {
  const db = new DiskObjectDb(objectDir)
  try {
    const all = await db.list()
    const sizes = await fsp.stat(join(objectDir, 'sizes')).catch(() => null)
    const ledger = new AheadLedger(join(objectDir, 'ahead'))
    await ledger.sync()
    return {
      files: all.length,
      bytes: all.reduce((n, o) => n + o.bytes, 0),
      knownSizes: sizes ? Math.max(0, sizes.size / RECORD - 1) | 0 : 0,
      readAhead: { readBytes: ledger.read, wasteBytes: ledger.unreadBytes },
    }
  } finally {
    await db.close()
  }
}

/** Asks every live mount for its numbers; mounts that do not answer are listed in `silent`. */
export async function gatherStats(): Promise<{ mounts: MountStats[]; caches: CacheStats[]; silent: string[] }> {
  const mounts: MountStats[] = []
  const silent: string[] = []
  await Promise.all(
    listMounts().map(async (m) => {
      try {
        const s = (await callControl(m.state, { op: 'stats' })) as ProcessStats
        mounts.push({ mountpoint: m.mountpoint, ...s })
      } catch {
        silent.push(m.mountpoint)
      }
    }),
  )
  mounts.sort((a, b) => a.mountpoint.localeCompare(b.mountpoint))
  const caches: CacheStats[] = []
  for (const dir of [...new Set(mounts.map((m) => m.objectDir))].sort()) {
    const of = mounts.filter((m) => m.objectDir === dir)
    const live = { ...of[0].store }
    for (const m of of.slice(1)) for (const k of Object.keys(live) as (keyof StoreCounters)[]) live[k] += m.store[k] ?? 0
    caches.push({ objectDir: dir, ...(await onDisk(dir)), mounts: of.length, live })
  }
  return { mounts, caches, silent }
}

const kb = (n: number) => (n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : `${(n / 1024).toFixed(1)} KB`)

function counters(s: StoreCounters): string {
  return (
    `fetched ${s.objectsFetched} objects, ${kb(s.bytesFetched)} in ${s.requests} requests; ` +
    `reads from memory ${s.memoryHits}, disk ${s.diskHits}, server ${s.serverHits} (${s.objectsShared} fetched by another process); fetched for other processes ${s.objectsServed ?? 0}; ` +
    `sizes from server ${s.sizesFromServer}, from the cache ${s.sizesShared}, asked by other processes ${s.sizesServed ?? 0}`
  )
}

export function renderStats(r: Awaited<ReturnType<typeof gatherStats>>): string {
  if (!r.mounts.length && !r.silent.length) return 'no scorpio mounts\n'
  let out = ''
  for (const m of r.mounts) {
    const ra =
      `; read-ahead ${m.readAhead.objects} objects, ${kb(m.readAhead.bytes)}, never read ${kb(m.readAhead.wasteBytes)}` +
      `; prefetched ${m.prefetch.objects} objects, ${kb(m.prefetch.bytes)}, not read ${kb(m.prefetch.unreadBytes)}`
    out += `${m.mountpoint}\tpid ${m.pid}, RSS ${kb(m.rssBytes)}: ${counters(m.store)}${ra}\n`
  }
  for (const c of r.caches) {
    const ra = `read-ahead of all its processes: ${kb(c.readAhead.readBytes)} read, ${kb(c.readAhead.wasteBytes)} fetched ahead and never read`
    out += `cache ${c.objectDir}: ${c.files} files, ${kb(c.bytes)} on disk, ${c.knownSizes} sizes kept; ${ra}; ${c.mounts} live mount(s): ${counters(c.live)}\n`
  }
  for (const s of r.silent) out += `${s}\tno answer (an older mount process, or not running)\n`
  return out
}
