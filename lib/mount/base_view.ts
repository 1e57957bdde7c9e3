// The lower view of a base commit for a live mount. A commit made in this workspace (scorpio
// commit) exists only in the local store until pushed: the remote cannot send its trees, so such a
// commit is read from the store directly.
import { UsageError } from '../errors.ts'
import { GitLowerView, openLower, splitPath, type LowerView, type ReadAheadOptions } from '../lower/mod.ts'
import type { Store } from '../store/mod.ts'

export async function openBaseView(store: Store, commit: string, path?: string, readAhead?: ReadAheadOptions): Promise<LowerView> {
  try {
    return await openLower(store, commit, { path, readAhead })
  } catch (err) {
    if (err instanceof UsageError || !(await store.has(commit))) throw err
  }
  const info = await store.readCommit(commit)
  const sub = splitPath(path ?? '')
  let view = new GitLowerView(store, commit, info.committer.timestamp * 1000, info.tree, sub.length ? {} : { readAhead })
  if (sub.length > 0) {
    const entry = await view.lookupPath(sub.join('/'))
    if (!entry || entry.kind !== 'dir' || !entry.oid) {
      throw new UsageError(`Path "${sub.join('/')}" is not a directory in commit ${commit.slice(0, 12)}`)
    }
    view = new GitLowerView(store, commit, info.committer.timestamp * 1000, entry.oid, { readAhead })
  }
  return view
}
