// After the base moved to a commit whose tree IS what the workspace showed, every upper entry that
// merely repeats the new base is removed. Each step leaves the visible tree unchanged (so a crash
// in the middle is harmless and the cleanup can simply run again):
//   1. opaque markers and origin xattrs of directories go first (the new lower under them equals
//      what they showed), 2. whiteouts (the new lower lacks those names), 3. files and symlinks
//   whose mode and blob id equal the new lower entry, 4. upper directories left empty that exist
//   as directories in the new lower. Anything else (a file written after the scan, an empty
//   directory Git does not track) stays.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { OPAQUE_MARKER } from '../overlay/upper_format.ts'
import type { Oid } from '../store/types.ts'
import { effMode, upperBlobId } from './effective.ts'
import { TREE_MODE, type TreeReader } from './trees.ts'
import type { UDir } from './upper_scan.ts'
import { removeOrigin } from './xattr.ts'
import { crashPoint } from './journal.ts'

export interface CleanupStats {
  removed: number
  kept: number
}

function counted(stats: CleanupStats): void {
  stats.removed++
  if (stats.removed === 2) crashPoint('cleanup-midway')
}

async function isEmptyDir(path: string): Promise<boolean> {
  try {
    return (await fsp.readdir(path)).length === 0
  } catch {
    return false
  }
}

async function cleanDir(reader: TreeReader, dir: UDir, tree: Oid | undefined, stats: CleanupStats): Promise<void> {
  if (dir.opaque) await fsp.rm(join(dir.abs, OPAQUE_MARKER), { force: true })
  if (dir.origin) await removeOrigin(dir.abs)
  const lower = await reader.entries(tree)
  for (const [name, child] of dir.children) {
    const e = lower.get(name)
    if (child.kind === 'whiteout') {
      if (!e) {
        await fsp.rm(child.abs, { force: true })
        counted(stats)
      } else stats.kept++
    } else if (child.kind === 'dir') {
      await cleanDir(reader, child, e?.mode === TREE_MODE ? e.oid : undefined, stats)
      if (e?.mode === TREE_MODE && (await isEmptyDir(child.abs))) await fsp.rmdir(child.abs).catch(() => {})
    } else {
      const mode = effMode({ kind: 'upper', node: child })
      let same = false
      if (e && e.mode === mode) {
        try {
          same = (await upperBlobId(child)) === e.oid
        } catch {
          same = false
        }
      }
      if (same) {
        await fsp.rm(child.abs, { force: true })
        counted(stats)
      } else stats.kept++
    }
  }
}

/** Removes the upper entries that repeat tree `newTree` (the workspace tree of the new base). */
export async function cleanupUpper(reader: TreeReader, upper: UDir, newTree: Oid): Promise<CleanupStats> {
  const stats: CleanupStats = { removed: 0, kept: 0 }
  await cleanDir(reader, upper, newTree, stats)
  return stats
}
