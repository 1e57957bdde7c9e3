// Reading and writing the base commit's trees through the ObjectStore, by path.
import { EMPTY_TREE_OID } from '../git/sha1.ts'
import { serializeTree } from '../git/tree.ts'
import { diffRawTrees, type TreeDiffPair } from '../git/tree_diff.ts'
import { IntegrityError, WorkspaceError } from '../errors.ts'
import type { ObjectStore, Oid, TreeEntry } from '../store/types.ts'

export const TREE_MODE = '40000'

/** Tree entries by name, memoized per instance (one per command). */
export class TreeReader {
  private cache = new Map<Oid, Map<string, TreeEntry>>()
  constructor(readonly store: ObjectStore) {}

  async entries(oid: Oid | undefined): Promise<Map<string, TreeEntry>> {
    if (!oid || oid === EMPTY_TREE_OID) return new Map()
    let m = this.cache.get(oid)
    if (!m) {
      m = new Map((await this.store.readTree(oid)).map((e) => [e.name, e]))
      this.cache.set(oid, m)
    }
    return m
  }

  private async rawTree(oid: Oid): Promise<Uint8Array> {
    if (oid === EMPTY_TREE_OID) return new Uint8Array()
    const o = await this.store.readObject(oid)
    if (o.type !== 'tree') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a tree`)
    return o.body
  }

  /**
   * The entries that differ between trees `a` and `b` (see lib/git/tree_diff.ts): only those are
   * parsed. Falls back to comparing parsed entries by name when a tree is not in Git's order.
   */
  async diff(a: Oid, b: Oid): Promise<TreeDiffPair[]> {
    const [ra, rb] = await Promise.all([this.rawTree(a), this.rawTree(b)])
    const pairs = diffRawTrees(ra, a, rb, b)
    if (pairs) return pairs
    const [ea, eb] = await Promise.all([this.entries(a), this.entries(b)])
    const out: TreeDiffPair[] = []
    for (const [name, e] of ea) {
      const o = eb.get(name)
      if (!o || o.oid !== e.oid || o.mode !== e.mode) out.push({ a: e, b: o })
    }
    for (const [name, o] of eb) if (!ea.has(name)) out.push({ b: o })
    return out
  }

  /** The entry at `parts` below tree `root` (undefined when missing). */
  async entryAt(root: Oid, parts: string[]): Promise<TreeEntry | undefined> {
    let entry: TreeEntry = { mode: TREE_MODE, name: '', oid: root }
    for (const p of parts) {
      if (entry.mode !== TREE_MODE) return undefined
      const next = (await this.entries(entry.oid)).get(p)
      if (!next) return undefined
      entry = next
    }
    return entry
  }

  /** Every non-tree entry under tree `oid`, with paths prefixed by `prefix`. */
  async listFiles(oid: Oid, prefix: string, out: { path: string; entry: TreeEntry }[] = []): Promise<{ path: string; entry: TreeEntry }[]> {
    for (const e of (await this.entries(oid)).values()) {
      const path = prefix ? `${prefix}/${e.name}` : e.name
      if (e.mode === TREE_MODE) await this.listFiles(e.oid, path, out)
      else out.push({ path, entry: e })
    }
    return out
  }
}

export function splitPath(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.')
}

/** The workspace root tree of a commit: its tree, or the subtree at `subdir` (`--path`). */
export async function workspaceTree(reader: TreeReader, commitTree: Oid, subdir: string | undefined): Promise<Oid> {
  const parts = splitPath(subdir ?? '')
  if (parts.length === 0) return commitTree
  const e = await reader.entryAt(commitTree, parts)
  if (!e) return EMPTY_TREE_OID
  if (e.mode !== TREE_MODE) throw new WorkspaceError('bad-path', `"${subdir}" is not a directory in tree ${commitTree}`)
  return e.oid
}

export async function writeTree(store: ObjectStore, entries: TreeEntry[]): Promise<Oid> {
  return store.writeObject('tree', serializeTree(entries))
}

/** Replaces the subtree at `parts` in `root` with `sub` (undefined or empty: removed), writing changed trees. */
export async function spliceTree(reader: TreeReader, root: Oid, parts: string[], sub: Oid | undefined): Promise<Oid> {
  if (parts.length === 0) return sub ?? (await writeTree(reader.store, []))
  const entries = new Map(await reader.entries(root))
  const [head, ...rest] = parts
  const existing = entries.get(head)
  const child = await spliceTree(reader, existing?.mode === TREE_MODE ? existing.oid : EMPTY_TREE_OID, rest, sub)
  if (child === EMPTY_TREE_OID) entries.delete(head)
  else entries.set(head, { mode: TREE_MODE, name: head, oid: child })
  return writeTree(reader.store, [...entries.values()])
}
