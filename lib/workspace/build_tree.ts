// Writes the effective tree into the store: blobs of upper files, the changed trees; every entry
// that comes straight from a Git tree keeps its id, so unchanged subtrees are reused as they are.
import type { Oid, TreeEntry } from '../store/types.ts'
import { effChildren, effMode, upperBytes, type Eff } from './effective.ts'
import { TREE_MODE, writeTree, type TreeReader } from './trees.ts'

export interface BuildStats {
  blobs: number
  trees: number
  /** Ids of the objects written (blobs and trees), for pinning. */
  written: Oid[]
}

async function build(reader: TreeReader, e: Eff, name: string, path: string, stats: BuildStats, exclude: Set<string>): Promise<TreeEntry | undefined> {
  if (e.kind === 'git') return e.entry
  const mode = effMode(e)
  if (e.kind === 'upper') {
    if (exclude.has(path)) return undefined
    if (e.node.kind === 'file' && e.node.origin) return { mode, name, oid: e.node.origin.oid }
    const oid = await reader.store.writeObject('blob', await upperBytes(e.node))
    stats.blobs++
    stats.written.push(oid)
    return { mode, name, oid }
  }
  // A merged upper directory with nothing changed under it is its lower tree.
  if (e.node.children.size === 0 && e.below) return { mode: TREE_MODE, name, oid: e.below }
  const entries: TreeEntry[] = []
  for (const [childName, child] of await effChildren(reader, e)) {
    const built = await build(reader, child, childName, path ? `${path}/${childName}` : childName, stats, exclude)
    if (built) entries.push(built)
  }
  if (entries.length === 0) return undefined // Git does not keep empty directories
  const oid = await writeTree(reader.store, entries)
  stats.trees++
  stats.written.push(oid)
  return { mode: TREE_MODE, name, oid }
}

/** Writes the effective root tree and returns its id (the empty tree when nothing is left); `exclude`: ignored untracked paths. */
export async function buildTree(
  reader: TreeReader,
  root: Eff,
  stats: BuildStats = { blobs: 0, trees: 0, written: [] },
  exclude: Set<string> = new Set(),
): Promise<Oid> {
  const entry = await build(reader, root, '', '', stats, exclude)
  return entry ? entry.oid : writeTree(reader.store, [])
}
