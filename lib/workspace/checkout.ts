// checkout REV: moves the base to another commit in place. Local changes block it unless --force,
// which keeps them on top where the two commits agree and backs up + reverts those where they differ.
import { promises as fsp } from 'node:fs'
import { dirname, join } from 'node:path'
import { UsageError, WorkspaceError } from '../errors.ts'
import { resolveRevision } from '../store/revision.ts'
import type { Oid } from '../store/types.ts'
import { computeChanges, diffEntry, type Change } from './changes.ts'
import { quiesced, rootTreeOf, scanOptions, withAncestors, type WorkspaceContext } from './context.ts'
import { restorePath, unmaskDir } from './discard.ts'
import { upperBytes } from './effective.ts'
import { recoverJournal } from './commit.ts'
import { saveWorkspaceState } from './state.ts'
import { TREE_MODE } from './trees.ts'
import { scanUpper, type UDir } from './upper_scan.ts'

export interface CheckoutResult {
  from: Oid
  to: Oid
  /** Files that differ between the two commits. */
  files: number
  /** Directories whose contents differ (workspace-relative, '' = root): what the mount invalidates. */
  changedDirs: string[]
  /** Local changes kept on top. */
  kept: string[]
  /** Local changes that collided with the new commit: backed up under `backupDir`, then reverted. */
  conflicts: string[]
  backupDir?: string
}

function related(a: string, b: string): boolean {
  return a === b || a.startsWith(b + '/') || b.startsWith(a + '/')
}

async function backup(dir: string, c: Change): Promise<void> {
  if (!c.new?.node) return
  const dest = join(dir, c.path)
  await fsp.mkdir(dirname(dest), { recursive: true })
  if (c.new.node.kind === 'link') await fsp.symlink(Buffer.from(await upperBytes(c.new.node)), dest)
  else await fsp.copyFile(c.new.node.abs, dest)
}

/** Removes upper entries at paths that differ between the commits, so the new commit shows there. */
async function uncover(ctx: WorkspaceContext, upper: UDir, fromTree: Oid, path: string): Promise<boolean> {
  const parts = path.split('/')
  let node: UDir = upper
  let lower: Oid | undefined = fromTree
  for (let i = 0; i < parts.length; i++) {
    if (node.opaque || node.origin) await unmaskDir(ctx.reader, node, lower)
    const child = node.children.get(parts[i])
    if (!child) return true
    if (i === parts.length - 1 || child.kind !== 'dir') {
      if (i < parts.length - 1) return false // a file or whiteout hides a whole directory: a conflict
      await fsp.rm(child.abs, { recursive: true, force: true })
      await fsp.rm(join(node.abs, '.wh.' + parts[i]), { force: true })
      node.children.delete(parts[i])
      return true
    }
    const le = (await ctx.reader.entries(lower)).get(parts[i])
    lower = le?.mode === TREE_MODE ? le.oid : undefined
    node = child
  }
  return true
}

export async function checkoutWorkspace(ctx: WorkspaceContext, rev: string, options: { force?: boolean } = {}): Promise<CheckoutResult> {
  if (!rev) throw new UsageError('Name the commit, branch or tag to check out')
  return quiesced(ctx, async () => {
    await recoverJournal(ctx)
    const from = ctx.state.base
    let to: Oid
    try {
      to = await resolveRevision(ctx.store, rev, { head: ctx.state.base })
    } catch (e) {
      if (e instanceof UsageError) throw e
      throw new UsageError(`Unknown revision "${rev}": ${(e as Error).message.split('\n')[0]}`)
    }
    await ctx.store.loadCommit(to, { from })
    const fromTree = await rootTreeOf(ctx, from)
    const toTree = await rootTreeOf(ctx, to)
    let upper = await scanUpper(ctx.state.upperDir, scanOptions(ctx))
    const changes = await computeChanges(ctx.reader, fromTree, upper)
    if (changes.length && !options.force) {
      throw new WorkspaceError(
        'uncommitted-changes',
        `Checkout of "${rev}" refused: ${changes.length} uncommitted change(s) (first: ${changes[0].path}); commit them, discard them with scorpio reset --hard, or pass --force to keep them on top`,
      )
    }
    const diff: Change[] = []
    await diffEntry(ctx.reader, '', { kind: 'git', entry: { mode: TREE_MODE, name: '', oid: toTree } }, { mode: TREE_MODE, name: '', oid: fromTree }, diff)
    const diffPaths = diff.map((d) => d.path)
    const conflicts: Change[] = []
    const kept: string[] = []
    for (const c of changes) (diffPaths.some((p) => related(p, c.path)) ? conflicts : kept).push(c as never)
    let backupDir: string | undefined
    if (conflicts.length) {
      backupDir = join(ctx.stateDir, 'checkout-backup', new Date().toISOString().replace(/[:.]/g, '-'))
      for (const c of conflicts) await backup(backupDir, c)
      for (const c of conflicts) await restorePath(ctx.reader, upper, fromTree, c.path.split('/'))
      upper = await scanUpper(ctx.state.upperDir, scanOptions(ctx))
    }
    const extraConflicts: string[] = []
    for (const p of diffPaths) {
      if (!(await uncover(ctx, upper, fromTree, p))) extraConflicts.push(p)
    }
    const changedDirs = withAncestors(diffPaths.map((p) => p.split('/').slice(0, -1).join('/')).filter(Boolean))
    // No journal needed: saving the state is the one atomic step, and nothing follows it but hooks.
    const branch = rev.replace(/^refs\/heads\//, '')
    const isBranch = !/^[0-9a-f]{40}$/.test(rev) && (await ctx.store.resolveRef(`refs/heads/${branch}`).then((o) => o === to, () => false))
    const next = { ...ctx.state, base: to, ...(isBranch ? { ref: branch, pushed: to } : {}) }
    await saveWorkspaceState(ctx.stateDir, next)
    Object.assign(ctx.state, next)
    await ctx.hooks?.baseChanged(to, diffPaths)
    return {
      from,
      to,
      files: diff.length,
      changedDirs,
      kept: kept.map((c) => (c as unknown as Change).path),
      conflicts: [...conflicts.map((c) => c.path), ...extraConflicts],
      backupDir,
    }
  })
}
