// Trims a disk object DB to a byte budget: least recently used (mtime) first, pinned ids kept.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { DiskObjectDb } from './disk.ts'
import { FlightClaims } from './flight.ts'
import { SizeFlight } from './size_flight.ts'
import type { Oid } from './types.ts'

export interface GcResult {
  removedObjects: number
  removedBytes: number
  keptObjects: number
  keptBytes: number
}

export async function gcDb(db: DiskObjectDb, maxBytes: number, pinned: Set<Oid>): Promise<GcResult> {
  return gcDbs([{ db, pinned }], maxBytes)
}

/** Trims several DBs (one cache, every remote) to one budget: least recently used first across all. */
export async function gcDbs(dbs: { db: DiskObjectDb; pinned: Set<Oid> }[], maxBytes: number): Promise<GcResult> {
  const all: { db: DiskObjectDb; pinned: Set<Oid>; oid: string; bytes: number; usedMs: number; oids?: Oid[] }[] = []
  for (const { db, pinned } of dbs) for (const o of await db.list()) all.push({ ...o, db, pinned })
  let total = all.reduce((n, o) => n + o.bytes, 0)
  const r: GcResult = { removedObjects: 0, removedBytes: 0, keptObjects: all.length, keptBytes: total }
  const touched = new Set<DiskObjectDb>()
  if (total > maxBytes) {
    all.sort((a, b) => a.usedMs - b.usedMs)
    for (const o of all) {
      if (total <= maxBytes) break
      if (o.pinned.has(o.oid) || o.oids?.some((x) => o.pinned.has(x))) continue
      await o.db.remove(o.oid)
      touched.add(o.db)
      total -= o.bytes
      r.removedObjects++
      r.removedBytes += o.bytes
    }
  }
  r.keptObjects -= r.removedObjects
  r.keptBytes = total
  for (const db of touched) {
    // Trees may be gone: commits must be re-loaded (re-checked) before they are trusted complete.
    await fsp.rm(join(db.dir, 'loaded'), { recursive: true, force: true })
  }
  for (const { db } of dbs) {
    await removeStaleTemp(db)
    // Learned sizes are all still true, but gc is where a cache gives back its space.
    await fsp.rm(join(db.dir, 'sizes'), { force: true })
    // What the read-ahead fetched and what was read: a waste bound's memory, not worth keeping.
    await fsp.rm(join(db.dir, 'ahead'), { force: true })
    await new FlightClaims(db.dir).sweep()
    await new SizeFlight(db.dir).sweep()
  }
  return r
}

/** Temp files of writers that crashed more than an hour ago. */
async function removeStaleTemp(db: DiskObjectDb): Promise<void> {
  try {
    for (const n of await fsp.readdir(join(db.dir, 'tmp'))) {
      const p = join(db.dir, 'tmp', n)
      const st = await fsp.stat(p).catch(() => null)
      if (st && Date.now() - st.mtimeMs > 3600_000) await fsp.rm(p, { force: true })
    }
  } catch {
    /* none */
  }
}
