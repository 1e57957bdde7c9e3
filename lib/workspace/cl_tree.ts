// The CL layer (`--cl`) lies between the upper layer and the base commit's tree. For version
// control it is part of what lies beneath the upper: its tree is written into the store (CL-made
// directories and locally held CL files; untouched directories keep their ids), and status,
// diff, commit and restore work on top of it. Commit therefore includes the CL's changes.
import type { LowerEntry, LowerView } from '../lower/mod.ts'
import type { Remote } from '../remote/types.ts'
import type { Oid, TreeEntry, TreeMode } from '../store/types.ts'
import { rootTreeOf, type WorkspaceContext } from './context.ts'
import { writeTree } from './trees.ts'

function modeOf(e: LowerEntry): TreeMode {
  if (e.mode) return (e.mode === '040000' ? '40000' : e.mode) as TreeMode
  if (e.kind === 'dir') return '40000'
  if (e.kind === 'symlink') return '120000'
  if (e.kind === 'submodule') return '160000'
  return e.perm & 0o100 ? '100755' : '100644'
}

async function entryOid(ctx: WorkspaceContext, view: LowerView, e: LowerEntry): Promise<Oid | undefined> {
  if (e.oid) return e.oid // untouched Git entries and Mega CL files (CL-made directories have none)
  if (e.kind !== 'dir') return ctx.store.writeObject('blob', await view.read(e))
  const entries: TreeEntry[] = []
  for (const [name, child] of await view.list(e)) {
    const oid = await entryOid(ctx, view, child)
    if (oid) entries.push({ mode: modeOf(child), name, oid })
  }
  return entries.length ? writeTree(ctx.store, entries) : undefined
}

/** The tree beneath the upper layer for `commit`: the CL applied over it when the workspace has one. */
export async function belowTreeOf(ctx: WorkspaceContext, commit: Oid): Promise<Oid> {
  const plain = await rootTreeOf(ctx, commit)
  const cl = ctx.state.cl
  if (!cl) return plain
  const store = ctx.store as { remote?: Remote; store?: () => Promise<{ remote: Remote }> }
  const remote = store.remote ?? (store.store ? (await store.store()).remote : undefined)
  if (!remote) return plain
  // Loaded only for a CL workspace: the lower view and the CL layer are not small.
  const [{ openLower }, { openClLayer }] = await Promise.all([import('../lower/mod.ts'), import('../mount/cl_layer.ts')])
  const lower = await openLower(ctx.store, commit, { path: ctx.state.remote.path })
  const view = await openClLayer(lower, cl, remote)
  return (await entryOid(ctx, view, view.root)) ?? writeTree(ctx.store, [])
}
