// What the overlay sees of the read-only layers beneath the upper: one commit's tree (lower) and
// optionally a CL layer applied over it. Entries never change for a given view.
import type { Oid } from '../store/types.ts'

export type LowerKind = 'file' | 'symlink' | 'dir' | 'submodule'

export interface LowerEntry {
  kind: LowerKind
  /** Permission bits: 0o644 or 0o755 for files, 0o777 for symlinks, 0o755 for directories. */
  perm: number
  /** Blob (file, symlink), tree (dir) or commit (submodule) id; absent for CL-made entries. */
  oid?: Oid
  /** Git mode string (`100644`, `40000`, ...) for the version-control side; absent for CL dirs. */
  mode?: string
  /** For a CL layer read from a local directory: where the bytes are. */
  local?: string
  /** Implementation detail of the view that made the entry. */
  ref?: unknown
}

export interface LowerView {
  readonly commit: Oid
  /** Commit time in milliseconds: the mtime/ctime/atime of every lower entry. */
  readonly mtimeMs: number
  readonly root: LowerEntry
  /** Children of a directory entry (submodules and files list as empty). */
  list(dir: LowerEntry): Promise<Map<string, LowerEntry>>
  /** Resolves a `/`-separated path relative to the view's root ('' is the root). */
  lookupPath(path: string): Promise<LowerEntry | undefined>
  /** Exact size of a file or symlink; fetched for the whole directory at once where possible. */
  size(entry: LowerEntry): Promise<number>
  /** What `list` gives when it needs no I/O (the listing is in memory), else undefined. Optional:
   *  lets a walk answer from memory without a promise per entry. */
  listCached?(dir: LowerEntry): Map<string, LowerEntry> | undefined
  /** What `size` gives when it is known without I/O, else undefined. Optional, as listCached. */
  knownSize?(entry: LowerEntry): number | undefined
  /** Contents of a file, or the target of a symlink. `reader`: who reads (an antares job over the
   *  shared view), for a read-ahead of its own; by default the view's. */
  read(entry: LowerEntry, reader?: object): Promise<Uint8Array>
  /** True when reading the entry needs no network. */
  isLocal(entry: LowerEntry): Promise<boolean>
  /** An entry standing for a Git object by mode and id (the `user.scorpio.origin` of an upper entry). */
  fromGit(mode: string, oid: Oid): LowerEntry
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.')
}

/** The entry at `path` (workspace-relative, '' for the root) in a view, walking its listings. */
export async function walkPath(view: Pick<LowerView, 'root' | 'list'>, path: string): Promise<LowerEntry | undefined> {
  let cur: LowerEntry | undefined = view.root
  for (const part of splitPath(path)) {
    if (!cur || cur.kind !== 'dir') return undefined
    cur = (await view.list(cur)).get(part)
  }
  return cur
}
