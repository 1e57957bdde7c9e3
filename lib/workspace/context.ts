// What every workspace operation works on: the state dir, its state, the store, a tree reader.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { ObjectStore, Oid } from '../store/types.ts'
import type { PushResult } from '../store/push.ts'
import type { WorkspaceState } from './state.ts'
import { TreeReader, workspaceTree } from './trees.ts'

/** The ObjectStore plus what the real store (lib/store) adds: push and pins. */
export interface WorkspaceStore extends ObjectStore {
  push?(ref: string, commit: Oid, options?: { force?: boolean }): Promise<PushResult>
  pin?(workspaceId: string, oids: Oid[]): Promise<void>
  unpin?(workspaceId: string, oids?: Oid[]): Promise<void>
  close?(): Promise<void>
}

/** Lets a live mount follow what a command did (the mount command wires these to the vfs). */
export interface MountHooks {
  /**
   * Stops the mount from serving requests (reads and writes) until the returned function is called.
   * Called before a command touches the upper layer, so no one sees a half-moved state.
   */
  quiesce?(): Promise<() => Promise<void> | void>
  /**
   * The base commit is now `newCommit` (it may be the same commit when only the upper layer changed)
   * and upper entries at or under `changedPaths` may have been removed or rewritten. The mount swaps
   * its lower view, forgets what it cached of the upper layer there (origins, opaque markers) and
   * invalidates the kernel's caches for exactly those paths (workspace-relative, '' = the root):
   * entries at and under them get fresh inodes, the directories above them keep theirs.
   */
  baseChanged(newCommit: string, changedPaths: string[]): Promise<void>
}

export interface WorkspaceContext {
  stateDir: string
  state: WorkspaceState
  store: WorkspaceStore
  reader: TreeReader
  hooks?: MountHooks
}

export function makeContext(stateDir: string, state: WorkspaceState, store: WorkspaceStore, hooks?: MountHooks): WorkspaceContext {
  return { stateDir, state, store, reader: new TreeReader(store), hooks }
}

/** The tree the workspace root shows for `commit` (the `--path` subtree when set). */
export async function rootTreeOf(ctx: WorkspaceContext, commit: Oid): Promise<Oid> {
  const info = await ctx.store.readCommit(commit)
  return workspaceTree(ctx.reader, info.tree, ctx.state.remote.path)
}

/** Id used for pins: stable per state dir. */
export function workspaceId(ctx: WorkspaceContext): string {
  return ctx.stateDir
}

/** Runs `fn` with the mount quiesced (when mounted). */
export async function quiesced<T>(ctx: WorkspaceContext, fn: () => Promise<T>): Promise<T> {
  const release = ctx.hooks?.quiesce ? await ctx.hooks.quiesce() : undefined
  try {
    return await fn()
  } finally {
    await release?.()
  }
}

/** Every ancestor directory of `paths` plus the paths themselves ('' = root), sorted, unique. */
export function withAncestors(paths: Iterable<string>): string[] {
  const out = new Set<string>([''])
  for (const p of paths) {
    const parts = p.split('/')
    for (let i = 1; i <= parts.length; i++) out.add(parts.slice(0, i).join('/'))
  }
  return [...out].sort()
}

/**
 * Tells the store that every tree of `commit` is already local (a commit made here: its new trees
 * were just written, the rest are the base's, which was loaded). Without this, the store's
 * loadCommit (used by a mount to show the commit) would ask the remote for a commit it never saw.
 * The store keeps this as a `loaded/<commit>` marker next to its objects.
 */
export async function markCommitLoaded(store: WorkspaceStore, commit: Oid): Promise<void> {
  const s = store as { db?: { dir?: string }; objectsDir?: () => Promise<string | undefined> }
  const dir = s.db?.dir ?? (s.objectsDir ? await s.objectsDir() : undefined)
  if (!dir) return
  await fsp.mkdir(join(dir, 'loaded'), { recursive: true })
  await fsp.writeFile(join(dir, 'loaded', commit), '')
}

/** Origins last read from the upper layer, keyed by inode and ctime (see upper_scan.ts). */
export const ORIGIN_CACHE = 'origin-cache.json'

export function scanOptions(ctx: WorkspaceContext): { originCache: string } {
  return { originCache: join(ctx.stateDir, ORIGIN_CACHE) }
}
