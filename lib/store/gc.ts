// Trims a disk object DB to a byte budget: least recently used (mtime) first, pinned ids kept.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { DiskObjectDb } from './disk.ts'
import type { Oid } from './types.ts'

export interface GcResult {
  removedObjects: number
  removedBytes: number
  keptObjects: number
  keptBytes: number
}

export async function gcDb(db: DiskObjectDb, maxBytes: number, pinned: Set<Oid>): Promise<GcResult> {
  const all = await db.list()
  let total = all.reduce((n, o) => n + o.bytes, 0)
  const r: GcResult = { removedObjects: 0, removedBytes: 0, keptObjects: all.length, keptBytes: total }
  if (total <= maxBytes) return r
  all.sort((a, b) => a.usedMs - b.usedMs)
  for (const o of all) {
    if (total <= maxBytes) break
    if (pinned.has(o.oid) || o.oids?.some((x) => pinned.has(x))) continue
    await db.remove(o.oid)
    total -= o.bytes
    r.removedObjects++
    r.removedBytes += o.bytes
  }
  r.keptObjects -= r.removedObjects
  r.keptBytes = total
  // Trees may be gone: commits must be re-loaded (re-checked) before they are trusted complete.
  if (r.removedObjects > 0) await fsp.rm(join(db.dir, 'loaded'), { recursive: true, force: true })
  // Stale temp files of crashed writers.
  try {
    for (const n of await fsp.readdir(join(db.dir, 'tmp'))) {
      const p = join(db.dir, 'tmp', n)
      const st = await fsp.stat(p).catch(() => null)
      if (st && Date.now() - st.mtimeMs > 3600_000) await fsp.rm(p, { force: true })
    }
  } catch {
    /* none */
  }
  return r
}
