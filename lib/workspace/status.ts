// status and diff: what the upper layer changes relative to the base commit.
import type { Change, ChangeStatus } from './changes.ts'
import { computeChanges } from './changes.ts'
import { rootTreeOf, type WorkspaceContext, scanOptions } from './context.ts'
import { renderDiff } from './diff.ts'
import { belowTreeOf } from './cl_tree.ts'
import { splitPath } from './trees.ts'
import { scanUpper } from './upper_scan.ts'

export interface StatusResult {
  base: string
  changes: { path: string; status: ChangeStatus }[]
}

export async function workspaceChanges(ctx: WorkspaceContext): Promise<Change[]> {
  const [tree, below, upper] = await Promise.all([
    rootTreeOf(ctx, ctx.state.base),
    belowTreeOf(ctx, ctx.state.base),
    scanUpper(ctx.state.upperDir, scanOptions(ctx)),
  ])
  return computeChanges(ctx.reader, tree, upper, undefined, below)
}

export async function workspaceStatus(ctx: WorkspaceContext): Promise<StatusResult> {
  const changes = await workspaceChanges(ctx)
  return { base: ctx.state.base, changes: changes.map((c) => ({ path: c.path, status: c.status })) }
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
