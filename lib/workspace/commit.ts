// commit: the effective tree becomes a Git commit whose parent is the base; then the base moves
// to it and the upper layer sheds what the commit now holds (see journal.ts for crash safety).
import { serializeCommit } from '../git/commit.ts'
import { UsageError, WorkspaceError } from '../errors.ts'
import type { Oid, Person } from '../store/types.ts'
import { buildTree } from './build_tree.ts'
import { computeChanges, rootEff } from './changes.ts'
import { cleanupUpper } from './cleanup.ts'
import { belowTreeOf } from './cl_tree.ts'
import { markCommitLoaded, quiesced, rootTreeOf, workspaceId, type WorkspaceContext, scanOptions } from './context.ts'
import { crashPoint, readJournal, removeJournal, writeJournal } from './journal.ts'
import { saveWorkspaceState } from './state.ts'
import { spliceTree, splitPath } from './trees.ts'
import { scanUpper, type Untracked } from './upper_scan.ts'

export interface CommitOptions {
  message: string
  author: Person
  committer: Person
}

export interface CommitResult {
  commit: Oid
  parent: Oid
  tree: Oid
  /** Number of files changed. */
  files: number
  blobs: number
  trees: number
  /** Entries Git cannot store (FIFOs, sockets, devices): left in the upper layer, not committed. */
  untracked?: Untracked[]
}

function normalizeMessage(message: string): string {
  const m = message.replace(/\s+$/, '')
  if (!m) throw new UsageError('Empty commit message: pass -m "what changed"')
  return m + '\n'
}

/** Finishes an interrupted commit/checkout found in the journal (see journal.ts). */
export async function recoverJournal(ctx: WorkspaceContext): Promise<'none' | 'rolled-back' | 'completed'> {
  const j = await readJournal(ctx.stateDir)
  if (!j) return 'none'
  if (ctx.state.base !== j.to) {
    await removeJournal(ctx.stateDir)
    return 'rolled-back'
  }
  const [tree, upper] = await Promise.all([rootTreeOf(ctx, j.to), scanUpper(ctx.state.upperDir, scanOptions(ctx))])
  if (j.op === 'commit' && !ctx.state.cl) await cleanupUpper(ctx.reader, upper, tree)
  await ctx.hooks?.baseChanged(j.to, j.paths ?? [''])
  await removeJournal(ctx.stateDir)
  return 'completed'
}

export async function commitWorkspace(ctx: WorkspaceContext, options: CommitOptions): Promise<CommitResult> {
  const message = normalizeMessage(options.message)
  return quiesced(ctx, async () => {
    await recoverJournal(ctx)
    const parent = ctx.state.base
    const parentInfo = await ctx.store.readCommit(parent)
    const oldRoot = await rootTreeOf(ctx, parent)
    const upper = await scanUpper(ctx.state.upperDir, scanOptions(ctx))
    const below = await belowTreeOf(ctx, parent)
    const ignored = new Set<string>()
    const changes = await computeChanges(ctx.reader, oldRoot, upper, ignored, below)
    if (changes.length === 0) {
      throw new WorkspaceError('nothing-to-commit', `Nothing to commit: the workspace has no changes against ${parent.slice(0, 12)}`)
    }
    const stats = { blobs: 0, trees: 0, written: [] as Oid[] }
    const newRoot = await buildTree(ctx.reader, rootEff(upper, below), stats, ignored)
    if (newRoot === oldRoot) {
      throw new WorkspaceError('nothing-to-commit', `Nothing to commit: the workspace tree equals ${parent.slice(0, 12)}'s`)
    }
    const sub = splitPath(ctx.state.remote.path ?? '')
    const fullTree = sub.length ? await spliceTree(ctx.reader, parentInfo.tree, sub, newRoot) : newRoot
    const body = serializeCommit({ tree: fullTree, parents: [parent], author: options.author, committer: options.committer, message })
    const commit = await ctx.store.writeObject('commit', body)
    await markCommitLoaded(ctx.store, commit)
    crashPoint('objects-written')
    await ctx.store.pin?.(workspaceId(ctx), [commit, ...stats.written])
    const paths = changes.map((c) => c.path)
    await writeJournal(ctx.stateDir, { op: 'commit', from: parent, to: commit, paths })
    crashPoint('journal-written')
    const localCommits = [...(ctx.state.localCommits ?? []), commit]
    await saveWorkspaceState(ctx.stateDir, { ...ctx.state, base: commit, localCommits })
    Object.assign(ctx.state, { base: commit, localCommits })
    crashPoint('state-saved')
    // With a CL layer the mount re-applies the CL over the new base, so an upper entry that hides
    // a CL entry must stay: the upper is left as it is (status is clean either way).
    if (!ctx.state.cl) await cleanupUpper(ctx.reader, upper, newRoot)
    crashPoint('upper-cleaned')
    await ctx.hooks?.baseChanged(commit, paths)
    await removeJournal(ctx.stateDir)
    return { commit, parent, tree: fullTree, files: changes.length, blobs: stats.blobs, trees: stats.trees, untracked: upper.untracked }
  })
}
