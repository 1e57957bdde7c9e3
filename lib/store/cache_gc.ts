// `scorpio gc`: trims a whole cache dir (one object DB per remote) to a byte budget, least recently
// used first across every remote, never an object a workspace pinned (committed, not yet pushed).
// Safe beside live mounts: what they read afterwards and no longer find is fetched again.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { DiskObjectDb } from './disk.ts'
import { gcDbs, type GcResult } from './gc.ts'
import { allPinned } from './pins.ts'

export async function gcCache(cacheDir: string, maxBytes: number): Promise<GcResult & { remotes: number }> {
  const root = join(cacheDir, 'objects')
  const entries = await fsp.readdir(root, { withFileTypes: true }).catch(() => [])
  const dbs: { db: DiskObjectDb; pinned: Set<string> }[] = []
  try {
    for (const d of entries) {
      if (!d.isDirectory()) continue
      const db = new DiskObjectDb(join(root, d.name))
      await db.init()
      dbs.push({ db, pinned: await allPinned(db.dir) })
    }
    return { ...(await gcDbs(dbs, maxBytes)), remotes: dbs.length }
  } finally {
    for (const { db } of dbs) await db.close()
  }
}

/** `10G`, `512M`, `1.5GiB`, `2048` (bytes) → bytes; undefined when it is not a size. */
export function parseSize(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(?:([kmgt])(?:i?b)?|b)?\s*$/i.exec(text)
  if (!m) return undefined
  const unit = m[2] ? 1024 ** ('kmgt'.indexOf(m[2].toLowerCase()) + 1) : 1
  return Math.floor(Number(m[1]) * unit)
}
