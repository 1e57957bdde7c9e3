// reset --hard (drop the whole upper layer) and restore PATH (show the base again at PATH).
import { promises as fsp } from 'node:fs'
import { dirname, join } from 'node:path'
import { UsageError } from '../errors.ts'
import { OPAQUE_MARKER, UPPER_WORK_DIR, WHITEOUT_PREFIX } from '../overlay/upper_format.ts'
import type { Oid } from '../store/types.ts'
import { computeChanges } from './changes.ts'
import { belowTreeOf } from './cl_tree.ts'
import { quiesced, rootTreeOf, withAncestors, type WorkspaceContext, scanOptions } from './context.ts'
import { normalizeFilters, pathMatches } from './status.ts'
import { TREE_MODE, type TreeReader } from './trees.ts'
import { scanUpper, upperAt, type UDir } from './upper_scan.ts'
import { removeOrigin, setOrigin } from './xattr.ts'

async function exists(path: string): Promise<boolean> {
  return fsp.lstat(path).then(
    () => true,
    () => false,
  )
}

/** Whiteout as a `.wh.NAME` file (mknod needs privileges and Node has no mknod). */
async function whiteout(dir: string, name: string): Promise<void> {
  await fsp.writeFile(join(dir, WHITEOUT_PREFIX + name), '')
}

/**
 * Turns an opaque or origin directory into a plain one that merges with `lower` (the base tree at
 * its path) without changing what it shows: the origin's entries are materialized, lower names it
 * hid become whiteouts, then the marker/xattr goes.
 */
export async function unmaskDir(reader: TreeReader, dir: UDir, lower: Oid | undefined): Promise<void> {
  if (!dir.opaque && !dir.origin) return
  const lowerEntries = await reader.entries(lower)
  const shown = new Set(dir.children.keys())
  if (dir.origin && !dir.opaque) {
    for (const [name, e] of await reader.entries(dir.origin.oid)) {
      if (shown.has(name)) continue
      const abs = join(dir.abs, name)
      if (e.mode === TREE_MODE) {
        await fsp.mkdir(abs)
        await setOrigin(abs, { mode: TREE_MODE, oid: e.oid })
        dir.children.set(name, { kind: 'dir', abs, opaque: false, origin: { mode: TREE_MODE, oid: e.oid }, children: new Map() })
      } else if (e.mode === '120000') {
        await fsp.symlink(Buffer.from(await reader.store.readBlob(e.oid)), abs)
        dir.children.set(name, { kind: 'link', abs })
      } else if (e.mode === '160000') {
        await fsp.mkdir(abs)
      } else {
        const body = await reader.store.readBlob(e.oid)
        const tmp = join(dir.abs, `${WHITEOUT_PREFIX}tmp-${process.pid}-${name}`)
        await fsp.writeFile(tmp, body, { mode: e.mode === '100755' ? 0o755 : 0o644 })
        await fsp.rename(tmp, abs)
        dir.children.set(name, { kind: 'file', abs, exec: e.mode === '100755', size: body.length })
      }
      shown.add(name)
    }
  }
  for (const name of lowerEntries.keys()) {
    if (shown.has(name)) continue
    await whiteout(dir.abs, name)
    dir.children.set(name, { kind: 'whiteout', abs: join(dir.abs, WHITEOUT_PREFIX + name) })
  }
  if (dir.origin) await removeOrigin(dir.abs)
  if (dir.opaque) await fsp.rm(join(dir.abs, OPAQUE_MARKER), { force: true })
  dir.opaque = false
  dir.origin = undefined
}

/** Removes whatever the upper layer holds at `parts` (entry and its `.wh.` twin). */
async function removeUpperEntry(upperRoot: string, parts: string[]): Promise<void> {
  const abs = join(upperRoot, ...parts)
  await fsp.rm(abs, { recursive: true, force: true })
  await fsp.rm(join(dirname(abs), WHITEOUT_PREFIX + parts[parts.length - 1]), { force: true })
}

/**
 * Makes the workspace show the base tree `baseTree` at `parts` again. Ancestors that are opaque or
 * origin directories are unmasked first; an ancestor replaced by a file is an error naming it.
 */
export async function restorePath(reader: TreeReader, upper: UDir, baseTree: Oid, parts: string[]): Promise<void> {
  let node: UDir = upper
  let lower: Oid | undefined = baseTree
  for (let i = 0; i < parts.length - 1; i++) {
    await unmaskDir(reader, node, lower)
    const child = node.children.get(parts[i])
    const le = (await reader.entries(lower)).get(parts[i])
    lower = le?.mode === TREE_MODE ? le.oid : undefined
    if (!child) return removeUpperEntry(upper.abs, parts) // nothing of it in upper below here
    if (child.kind !== 'dir') {
      throw new UsageError(`Cannot restore "${parts.join('/')}" alone: "${parts.slice(0, i + 1).join('/')}" was replaced or deleted; restore that instead`)
    }
    node = child
  }
  if (parts.length) {
    await unmaskDir(reader, node, lower)
    node.children.delete(parts[parts.length - 1])
  }
  await removeUpperEntry(upper.abs, parts)
}

export interface DiscardResult {
  /** Workspace-relative paths whose contents changed back. */
  paths: string[]
}

export async function restorePaths(ctx: WorkspaceContext, paths: string[]): Promise<DiscardResult> {
  if (paths.length === 0) throw new UsageError('Name the paths to restore (scorpio restore PATH...), or use scorpio reset --hard for everything')
  const filters = normalizeFilters(paths)
  return quiesced(ctx, async () => {
    const tree = await belowTreeOf(ctx, ctx.state.base)
    const upper = await scanUpper(ctx.state.upperDir, scanOptions(ctx))
    const changes = await computeChanges(ctx.reader, await rootTreeOf(ctx, ctx.state.base), upper, undefined, tree)
    for (const f of filters) {
      if (f === '') continue
      const inBase = await ctx.reader.entryAt(tree, f.split('/'))
      if (!inBase && !upperAt(upper, f.split('/')) && !changes.some((c) => pathMatches(c.path, [f]))) {
        throw new UsageError(`Path "${f}" is neither in the base commit nor changed in the workspace`)
      }
    }
    if (filters.includes('')) return resetUpper(ctx)
    for (const f of filters) await restorePath(ctx.reader, upper, tree, f.split('/'))
    const touched = withAncestors([...filters, ...changes.filter((c) => pathMatches(c.path, filters)).map((c) => c.path)])
    await ctx.hooks?.baseChanged(ctx.state.base, touched)
    return { paths: touched }
  })
}

/** Empties the upper layer (keeps its `.scorpio-work/`): the workspace shows the base commit again. */
export async function resetHard(ctx: WorkspaceContext): Promise<DiscardResult> {
  return quiesced(ctx, () => resetUpper(ctx))
}

async function resetUpper(ctx: WorkspaceContext): Promise<DiscardResult> {
  {
    const up = ctx.state.upperDir
    let names: string[] = []
    try {
      names = await fsp.readdir(up)
    } catch {
      await fsp.mkdir(up, { recursive: true })
    }
    for (const n of names) if (n !== UPPER_WORK_DIR) await fsp.rm(join(up, n), { recursive: true, force: true })
    const touched = withAncestors(names.filter((n) => n !== UPPER_WORK_DIR && !n.startsWith(WHITEOUT_PREFIX)).concat(
      names.filter((n) => n.startsWith(WHITEOUT_PREFIX) && n !== OPAQUE_MARKER).map((n) => n.slice(WHITEOUT_PREFIX.length)),
    ))
    await ctx.hooks?.baseChanged(ctx.state.base, touched)
    return { paths: touched }
  }
}

export { exists }
