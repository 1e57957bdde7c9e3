// A tree's entries without a trip through readTree's waiting when the store already holds the tree
// in memory: walks over a freshly fetched commit read thousands of trees, nearly all in memory.
import type { ObjectStore, Oid, TreeEntry } from './types.ts'

/**
 * The entries of `oid`: from memory when the store has them there, else through readTree (which
 * fetches, or waits for a commit's trees still arriving, and reports a bad tree). `beforeWait` runs
 * first in that case (a walk sends what it gathered rather than hold it while it waits).
 */
export async function readTreeSoon(
  store: Pick<ObjectStore, 'readTree' | 'readTreeNow'>,
  oid: Oid,
  options: { keep?: boolean; beforeWait?: () => Promise<void> } = {},
): Promise<TreeEntry[]> {
  const keep = { keep: options.keep }
  let now: TreeEntry[] | undefined
  try {
    now = store.readTreeNow?.(oid, keep)
  } catch {
    // readTree reports it
  }
  if (now) return now
  await options.beforeWait?.()
  return store.readTree(oid, keep)
}
