// Push: fast-forward check against the server's ref, then the objects the server may lack (those
// reachable from the new commit that differ from its first parent and are in the local store).
import { RemoteError } from '../errors.ts'
import type { RawObject } from '../remote/types.ts'
import type { Store } from './store.ts'
import type { Oid, TreeEntry } from './types.ts'

export interface PushResult {
  ref: string
  oldOid: Oid | null
  newOid: Oid
  /** Objects sent. */
  objects: number
  /** False when the server was already at the commit. */
  updated: boolean
}

function fullRef(ref: string): string {
  if (ref.startsWith('refs/')) return ref
  return `refs/heads/${ref}`
}

async function localCommit(store: Store, oid: Oid) {
  if (!(await store.has(oid))) return null
  return store.readCommit(oid).catch(() => null)
}

/** True when `ancestor` is `commit` or one of its locally known ancestors. */
async function isAncestor(store: Store, ancestor: Oid, commit: Oid): Promise<boolean> {
  const seen = new Set<Oid>()
  const stack = [commit]
  while (stack.length) {
    const c = stack.pop()!
    if (c === ancestor) return true
    if (seen.has(c)) continue
    seen.add(c)
    const info = await localCommit(store, c)
    if (info) stack.push(...info.parents)
  }
  return false
}

async function addTreeDiff(store: Store, tree: Oid, base: Oid | null, out: Map<Oid, RawObject>): Promise<void> {
  if (tree === base || out.has(tree) || !(await store.has(tree))) return
  const o = await store.readObject(tree)
  out.set(tree, { oid: tree, type: 'tree', body: o.body })
  const entries = await store.readTree(tree)
  let baseEntries = new Map<string, TreeEntry>()
  if (base && (await store.has(base))) baseEntries = new Map((await store.readTree(base)).map((e) => [e.name, e]))
  for (const e of entries) {
    const b = baseEntries.get(e.name)
    if (b && b.oid === e.oid) continue
    if (e.mode === '40000') await addTreeDiff(store, e.oid, b?.mode === '40000' ? b.oid : null, out)
    else if (e.mode !== '160000' && !out.has(e.oid) && (await store.has(e.oid))) {
      // A blob not in the store came from the server (e.g. a rename never read): it has it.
      const blob = await store.readObject(e.oid)
      out.set(e.oid, { oid: e.oid, type: blob.type, body: blob.body })
    }
  }
}

export async function pushCommit(store: Store, ref: string, commit: Oid, options: { force?: boolean }): Promise<PushResult> {
  const name = fullRef(ref)
  const refs = await store.remote.listRefs()
  const old = refs.find((r) => r.name === name)?.oid ?? null
  if (old === commit) return { ref: name, oldOid: old, newOid: commit, objects: 0, updated: false }
  if (old && !options.force && !(await isAncestor(store, old, commit))) {
    throw new RemoteError(
      'non-fast-forward',
      `Push of ${name} rejected: the server is at ${old}, which is not an ancestor of ${commit} (non-fast-forward). ` +
        `Bring in the server's commit first (pull or checkout ${old.slice(0, 12)}, then commit again), or push with --force to overwrite it`,
    )
  }
  const serverHas = new Set(refs.map((r) => r.oid))
  const objects = new Map<Oid, RawObject>()
  const stack = [commit]
  while (stack.length) {
    const c = stack.pop()!
    if (serverHas.has(c) || objects.has(c)) continue
    const info = await localCommit(store, c)
    if (!info) continue // not local: it came from the server
    const o = await store.readObject(c)
    objects.set(c, { oid: c, type: 'commit', body: o.body })
    const parent = info.parents[0] ? await localCommit(store, info.parents[0]) : null
    await addTreeDiff(store, info.tree, parent?.tree ?? null, objects)
    stack.push(...info.parents)
  }
  await store.remote.push({ ref: name, oldOid: old, newOid: commit, objects: [...objects.values()] })
  return { ref: name, oldOid: old, newOid: commit, objects: objects.size, updated: true }
}
