// log (first-parent from the base, marking what is not pushed) and push.
import { UsageError, WorkspaceError } from '../errors.ts'
import type { PushResult } from '../store/push.ts'
import { isOid } from '../git/sha1.ts'
import type { CommitInfo, Oid, Person, TreeEntry } from '../store/types.ts'
import { workspaceId, type WorkspaceContext } from './context.ts'
import { saveWorkspaceState } from './state.ts'

export interface LogEntry {
  commit: Oid
  parents: Oid[]
  author: Person
  committer: Person
  message: string
  /** False for commits made here and not yet on the remote. */
  pushed: boolean
}

/** Local commits between `pushed` and the base (first-parent), newest first. */
async function unpushedSet(ctx: WorkspaceContext, limit = 10000): Promise<Set<Oid>> {
  const out = new Set<Oid>()
  const stop = ctx.state.pushed
  let c: Oid | undefined = ctx.state.base
  // Walk back while the commit is one we made (pinned) and not the pushed one.
  const pinned = await pinnedCommits(ctx)
  while (c && c !== stop && out.size < limit && pinned.has(c)) {
    out.add(c)
    c = (await ctx.store.readCommit(c)).parents[0]
  }
  return out
}

async function pinnedCommits(ctx: WorkspaceContext): Promise<Set<Oid>> {
  return new Set(ctx.state.localCommits ?? [])
}

/** Commits in the first step of a path's history (one commits-only fetch and one tree fetch per
 *  path level a step); each next step is twice as long, up to PATH_BATCH_MAX, so a walk through the
 *  whole of a long history costs a number of requests that grows with its logarithm. */
const PATH_BATCH = 200
const PATH_BATCH_MAX = 6400

/**
 * The entry (`mode oid`, '' when absent) at `parts` in each commit's tree, read level by level:
 * each level's missing trees of all the commits come in one request.
 */
async function entriesAt(ctx: WorkspaceContext, commits: CommitInfo[], parts: string[]): Promise<string[]> {
  let trees: (Oid | undefined)[] = commits.map((c) => c.tree)
  const out: string[] = commits.map(() => '')
  for (let level = 0; level < parts.length; level++) {
    const want = [...new Set(trees.filter((t): t is Oid => !!t))]
    if (!want.length) break
    await ctx.store.loadTrees?.(want)
    // Each distinct tree parsed once; not kept by the store (a long walk would fill its cache).
    const found = new Map<Oid, TreeEntry | undefined>()
    for (const t of want) found.set(t, (await ctx.store.readTree(t, { keep: false })).find((x) => x.name === parts[level]))
    const next: (Oid | undefined)[] = []
    for (let i = 0; i < trees.length; i++) {
      const e = trees[i] ? found.get(trees[i]!) : undefined
      if (level === parts.length - 1) out[i] = e ? `${e.mode} ${e.oid}` : ''
      next.push(e?.mode === '40000' ? e.oid : undefined)
    }
    trees = next
  }
  return out
}

/** The path's parts from the repository root (the workspace may show a subtree). */
export function repoPathParts(ctx: WorkspaceContext, path: string): string[] {
  return [...(ctx.state.remote.path ?? '').split('/'), ...path.split('/')].filter((p) => p && p !== '.')
}

/** The entry (`mode oid`, '' when absent) at `path` in the base commit. */
export async function baseEntry(ctx: WorkspaceContext, path: string): Promise<string> {
  return (await entriesAt(ctx, [await ctx.store.readCommit(ctx.state.base)], repoPathParts(ctx, path)))[0]
}

/** A commit that changed the path: its entry there and its first parent's ('' = absent). */
export interface PathChange {
  oid: Oid
  info: CommitInfo
  entry: string
  before: string
}

/**
 * One step of a path's walk, noted in the store (commits never change, so a later walk through the
 * same commits, a second `blame` or `log PATH`, takes it as it is instead of reading every
 * commit's trees again): from `head` back along first parents to `next` (excluded; null: the root
 * was reached), the commits that changed the path, as `[commit, entry, entry before]`.
 */
interface Step {
  head: Oid
  next: Oid | null
  changes: [Oid, string, string][]
}

const ENTRY = /^(?:\d{5,6} [0-9a-f]{40})?$/

/** A noted step, or undefined for a line that is not one (cut short by a crash, or hand-edited). */
function parseStep(line: string): Step | undefined {
  try {
    const s = JSON.parse(line) as Step
    const ok = isOid(s.head) && (s.next === null || isOid(s.next)) && Array.isArray(s.changes) &&
      s.changes.every((c) => Array.isArray(c) && c.length === 3 && isOid(c[0]) && ENTRY.test(c[1]) && ENTRY.test(c[2]))
    return ok ? s : undefined
  } catch {
    return undefined
  }
}

/**
 * The commits (first parent from the base) that changed `path`, newest first, one step of the walk
 * at a time (a caller that has seen enough stops asking, and no more history is fetched). Each step
 * walked is noted in the store; a walk that reaches a noted step's first commit takes the step
 * from the note.
 */
export async function* pathChanges(ctx: WorkspaceContext, path: string): AsyncGenerator<PathChange[]> {
  const parts = repoPathParts(ctx, path)
  if (!parts.length) throw new UsageError('Give a file or directory inside the workspace (log with no path shows every commit)')
  const key = `path-changes ${parts.join('/')}`
  const noted = new Map<Oid, Step>()
  for (const line of (await ctx.store.notes?.read(key)) ?? []) {
    const s = parseStep(line)
    if (s) noted.set(s.head, s)
  }
  let c: Oid | undefined = ctx.state.base
  let step = PATH_BATCH
  while (c) {
    const known = noted.get(c)
    if (known) {
      const out: PathChange[] = []
      for (const [oid, entry, before] of known.changes) out.push({ oid, info: await ctx.store.readCommit(oid), entry, before })
      yield out
      c = known.next ?? undefined
      continue
    }
    await ctx.store.loadHistory?.(c, step + 1)
    // Up to `step` commits and the one after them, which the next step starts from (its entry is
    // each last commit's "before"); a noted step's first commit ends this step early.
    const chain: { oid: Oid; info: CommitInfo }[] = []
    let next: Oid | undefined
    for (let x: Oid | undefined = c; x; ) {
      const info = await ctx.store.readCommit(x)
      chain.push({ oid: x, info })
      if (chain.length > step || (chain.length > 1 && noted.has(x))) {
        next = x
        break
      }
      x = info.parents[0]
    }
    const ids = await entriesAt(ctx, chain.map((e) => e.info), parts)
    const out: PathChange[] = []
    for (let i = 0; i < chain.length - (next ? 1 : 0); i++) {
      const before = i + 1 < chain.length ? ids[i + 1] : ''
      if (ids[i] !== before) out.push({ ...chain[i], entry: ids[i], before })
    }
    const walked: Step = { head: c, next: next ?? null, changes: out.map((ch) => [ch.oid, ch.entry, ch.before]) }
    await ctx.store.notes?.add(key, JSON.stringify(walked))
    yield out
    c = next
    step = Math.min(step * 2, PATH_BATCH_MAX)
  }
}

/** `log PATH`: the commits (first parent from the base) that changed `path`, newest first. */
async function pathLog(ctx: WorkspaceContext, path: string, limit: number): Promise<{ oid: Oid; info: CommitInfo }[]> {
  const out: { oid: Oid; info: CommitInfo }[] = []
  for await (const changes of pathChanges(ctx, path)) {
    for (const ch of changes) if (out.length < limit) out.push(ch)
    if (out.length >= limit) break
  }
  return out
}

export async function workspaceLog(ctx: WorkspaceContext, options: { limit?: number; path?: string } = {}): Promise<LogEntry[]> {
  const limit = options.limit ?? 50
  const unpushed = await unpushedSet(ctx)
  if (options.path) {
    const found = await pathLog(ctx, options.path, limit)
    return found.map(({ oid, info }) => ({ commit: oid, parents: info.parents, author: info.author, committer: info.committer, message: info.message, pushed: !unpushed.has(oid) }))
  }
  // The commits shown, in one commits-only fetch where they are not stored yet. A failure here
  // (server down) leaves the walk below to show what is stored, or to report the first read.
  await ctx.store.loadHistory?.(ctx.state.base, limit).catch(() => {})
  const out: LogEntry[] = []
  let c: Oid | undefined = ctx.state.base
  while (c && out.length < limit) {
    let info: CommitInfo
    try {
      info = await ctx.store.readCommit(c)
    } catch (e) {
      if (out.length === 0) throw e
      break // history beyond what the remote sent (shallow fetch): stop quietly
    }
    out.push({ commit: c, parents: info.parents, author: info.author, committer: info.committer, message: info.message, pushed: !unpushed.has(c) })
    c = info.parents[0]
  }
  return out
}

export interface PushOutcome extends PushResult {
  /** Local commits that became pushed. */
  commits: number
}

export async function pushWorkspace(ctx: WorkspaceContext, options: { ref?: string; force?: boolean } = {}): Promise<PushOutcome> {
  if (!ctx.store.push) throw new WorkspaceError('no-push', 'This object store cannot push')
  const ref = options.ref ?? `refs/heads/${ctx.state.ref}`
  if (!/^refs\/[^\s~^:?*[\\]+$/.test(ref) && !/^[A-Za-z0-9._/-]+$/.test(ref)) throw new UsageError(`"${ref}" is not a valid ref name (use refs/heads/NAME)`)
  const unpushed = await unpushedSet(ctx)
  const result = await ctx.store.push(ref, ctx.state.base, { force: options.force })
  const defaultRef = `refs/heads/${ctx.state.ref}`
  const fullRef = ref.startsWith('refs/') ? ref : `refs/heads/${ref}`
  const localCommits = (ctx.state.localCommits ?? []).filter((c) => !unpushed.has(c))
  const state = { ...ctx.state, localCommits, ...(fullRef === defaultRef ? { pushed: ctx.state.base } : {}) }
  await saveWorkspaceState(ctx.stateDir, state)
  Object.assign(ctx.state, state)
  if (localCommits.length === 0) await ctx.store.unpin?.(workspaceId(ctx))
  return { ...result, commits: unpushed.size }
}
