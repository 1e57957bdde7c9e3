// status and diff: what the upper layer changes relative to the base commit.
import type { Change, ChangeStatus } from './changes.ts'
import { computeChanges } from './changes.ts'
import { rootTreeOf, type WorkspaceContext, scanOptions } from './context.ts'
import { renderDiff } from './diff.ts'
import { belowTreeOf } from './cl_tree.ts'
import { splitPath } from './trees.ts'
import { scanUpper, type UDir, type Untracked } from './upper_scan.ts'
import { readStatusCache, statusKey, writeStatusCache } from './status_cache.ts'

export interface StatusResult {
  base: string
  changes: { path: string; status: ChangeStatus }[]
  /** Entries Git cannot store (FIFOs, sockets, devices): not among the changes. */
  untracked?: Untracked[]
}

export async function workspaceChanges(ctx: WorkspaceContext, scanned?: UDir): Promise<Change[]> {
  const [tree, below, upper] = await Promise.all([
    rootTreeOf(ctx, ctx.state.base),
    belowTreeOf(ctx, ctx.state.base),
    scanned ?? scanUpper(ctx.state.upperDir, scanOptions(ctx)),
  ])
  return computeChanges(ctx.reader, tree, upper, undefined, below)
}

/** Status, answered from status-cache.json when neither the base nor any upper entry has changed since. */
export async function workspaceStatus(ctx: WorkspaceContext): Promise<StatusResult> {
  const key = statusKey(ctx.state)
  const cached = readStatusCache(ctx.stateDir, key)
  if (cached) return cached
  const upper = await scanUpper(ctx.state.upperDir, scanOptions(ctx))
  const changes = await workspaceChanges(ctx, upper)
  const result: StatusResult = { base: ctx.state.base, changes: changes.map((c) => ({ path: c.path, status: c.status })) }
  if (upper.untracked?.length) result.untracked = upper.untracked
  await writeStatusCache(ctx.stateDir, key, upper, result)
  return result
}

/** True when `path` is `filter` or lies under it (both workspace-relative). */
export function pathMatches(path: string, filters: string[]): boolean {
  if (filters.length === 0) return true
  return filters.some((f) => f === '' || path === f || path.startsWith(f + '/'))
}

/** Normalizes user paths (workspace-relative, may end in '/', '.' = root). */
export function normalizeFilters(paths: string[]): string[] {
  return paths.map((p) => splitPath(p).join('/'))
}

export async function workspaceDiff(ctx: WorkspaceContext, paths: string[] = []): Promise<string> {
  const filters = normalizeFilters(paths)
  const changes = (await workspaceChanges(ctx)).filter((c) => pathMatches(c.path, filters))
  return renderDiff(ctx.store, changes)
}
