// A workspace opened on its state dir: every version-control operation, locked and recovered.
// Used in-process by the CLI when nothing is mounted, and by the mount process (with hooks)
// when a command arrives over the control socket.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { JOURNAL_FILE } from './journal.ts'
import type { Oid, Person } from '../store/types.ts'
import { checkoutWorkspace, type CheckoutResult } from './checkout.ts'
import { commitWorkspace, recoverJournal, type CommitResult } from './commit.ts'
import { makeContext, type MountHooks, type WorkspaceContext, type WorkspaceStore } from './context.ts'
import { resetHard, restorePaths, type DiscardResult } from './discard.ts'
import { pushWorkspace, workspaceLog, type LogEntry, type PushOutcome } from './history.ts'
import { workspaceBlame, type BlameResult } from './blame.ts'
import { resolveIdentity, type IdentityOptions } from './identity.ts'
import { withLock } from './lock.ts'
import { WorkspaceError } from '../errors.ts'
import { loadWorkspaceState, saveWorkspaceState, type WorkspaceState } from './state.ts'
import { LazyStore } from './lazy_store.ts'
import { workspaceDiff, workspaceStatus, workspaceChanges, type StatusResult } from './status.ts'
import type { Change } from './changes.ts'

export interface OpenWorkspaceOptions {
  /** An already open store (the mount process shares its own); default: openStore on the state's remote and cache. */
  store?: WorkspaceStore
  /** Set by a live mount so it follows base moves and upper rewrites. */
  hooks?: MountHooks
}

export interface CommitRequest {
  message: string
  /** `Name <email>`. */
  author?: string
  /** scorpio.toml [user]. */
  user?: IdentityOptions['user']
  env?: IdentityOptions['env']
  /** Already resolved by the caller (the CLI resolves in its own environment before asking a mount). */
  identity?: { author: Person; committer: Person }
}

export class Workspace {
  readonly ctx: WorkspaceContext
  private ownsStore: boolean

  constructor(ctx: WorkspaceContext, ownsStore: boolean) {
    this.ctx = ctx
    this.ownsStore = ownsStore
  }

  get state(): WorkspaceState {
    return this.ctx.state
  }

  get stateDir(): string {
    return this.ctx.stateDir
  }

  /** Re-reads workspace.json (the mount process calls this before each request). */
  async reload(): Promise<void> {
    Object.assign(this.ctx.state, await loadWorkspaceState(this.ctx.stateDir))
  }

  private queue: Promise<unknown> = Promise.resolve()

  /** One operation at a time: queued within this process, a lock file across processes. */
  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const run = () =>
      withLock(this.ctx.stateDir, async () => {
        await this.reload()
        return fn()
      })
    const p = this.queue.then(run, run)
    this.queue = p.catch(() => {})
    return p
  }

  /** The CL layer (--cl) lies between upper and lower; checkout does not model it yet. */
  private noCl(what: string): void {
    if (this.ctx.state.cl) {
      throw new WorkspaceError('cl-unsupported', `scorpio ${what} does not support workspaces with a CL layer (--cl ${this.ctx.state.cl}) yet; mount without --cl to commit local changes`)
    }
  }

  status(): Promise<StatusResult> {
    return this.locked(() => workspaceStatus(this.ctx))
  }

  changes(): Promise<Change[]> {
    return this.locked(() => workspaceChanges(this.ctx))
  }

  diff(paths: string[] = []): Promise<string> {
    return this.locked(() => workspaceDiff(this.ctx, paths))
  }

  commit(request: CommitRequest): Promise<CommitResult> {
    return this.locked(async () => {
      const { author, committer } = request.identity ?? resolveIdentity({ author: request.author, user: request.user, env: request.env })
      return commitWorkspace(this.ctx, { message: request.message, author, committer })
    })
  }

  push(options: { ref?: string; force?: boolean } = {}): Promise<PushOutcome> {
    return this.locked(() => pushWorkspace(this.ctx, options))
  }

  checkout(rev: string, options: { force?: boolean } = {}): Promise<CheckoutResult> {
    return this.locked(async () => (this.noCl('checkout'), checkoutWorkspace(this.ctx, rev, options)))
  }

  resetHard(): Promise<DiscardResult> {
    return this.locked(() => resetHard(this.ctx))
  }

  restore(paths: string[]): Promise<DiscardResult> {
    return this.locked(() => restorePaths(this.ctx, paths))
  }

  log(options: { limit?: number; path?: string } = {}): Promise<LogEntry[]> {
    return this.locked(() => workspaceLog(this.ctx, options))
  }

  blame(path: string): Promise<BlameResult> {
    return this.locked(() => workspaceBlame(this.ctx, path))
  }

  /** Finishes or rolls back an interrupted commit/checkout (also done before each commit/checkout). */
  recover(): Promise<'none' | 'rolled-back' | 'completed'> {
    return this.locked(() => recoverJournal(this.ctx))
  }

  async close(): Promise<void> {
    if (this.ownsStore) await this.ctx.store.close?.()
  }
}

/** Opens the workspace whose state lives in `stateDir`, recovering an interrupted commit/checkout. */
export async function openWorkspace(stateDir: string, options: OpenWorkspaceOptions = {}): Promise<Workspace> {
  const state = await loadWorkspaceState(stateDir)
  let store = options.store
  const owns = !store
  if (!store) {
    const lazy: LazyStore = new LazyStore(state.objectsDir, async () => {
      // Loaded only now: most commands (status, diff, checkout between loaded commits) never need
      // the remote or the full store, and a short command should not pay for loading them.
      const [{ openRemote }, { openStore }] = await Promise.all([import('../remote/mod.ts'), import('../store/mod.ts')])
      const remote = await openRemote(state.remote.url, { mega: state.remote.mega, path: state.remote.path })
      const full = await openStore({ remote, cacheDir: state.cacheDir })
      if (state.objectsDir !== full.db.dir) {
        // Remember where this remote's objects live, so the next command reads them without a remote.
        const fresh = await loadWorkspaceState(stateDir)
        await saveWorkspaceState(stateDir, { ...fresh, objectsDir: full.db.dir })
        state.objectsDir = full.db.dir
      }
      return full
    })
    store = lazy
  }
  const ws = new Workspace(makeContext(stateDir, state, store, options.hooks), owns)
  if (existsSync(join(stateDir, JOURNAL_FILE))) await ws.recover()
  return ws
}

export type { Oid }
