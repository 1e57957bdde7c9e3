// Composition of the layers of one mount: remote → store → lower (+ CL) → overlay → vfs → FUSE.
// Kept apart from run_mount.ts so that the orchestration reads as a sequence of steps.
import { openRemote, type Remote } from '../remote/mod.ts'
import { openStore, resolveBase, type Store } from '../store/mod.ts'
import type { LowerView } from '../lower/mod.ts'
import { mountFuse, type FuseMount } from '../fuse/mod.ts'
import { loadOrigins } from '../overlay/mod.ts'
import {
  controlSocketPath,
  openWorkspace,
  serveControl,
  workspaceHandlers,
  type MountHooks,
  type Workspace,
  type WorkspaceState,
} from '../workspace/mod.ts'
import { buildFileSystem, type BuiltFileSystem } from './file_system.ts'
import { openBaseView } from './base_view.ts'
import { openClLayer } from './cl_layer.ts'
import { processStats } from './stats.ts'
import { fetchRequested, prefetchRequest, startProfile } from './prefetch.ts'
import { readLogPath } from './read_log.ts'

export interface LayersOptions {
  url: string
  mega?: boolean
  path?: string
  cacheDir: string
  requestTimeout?: number
  log?: (line: string) => void
}

export interface MountLayerOptions {
  allowOther?: boolean
  debug?: boolean
  stateDir: string
  /** Workspace paths (a recorded profile) to fetch in the background once mounted. */
  profile?: string[]
  /** Called after a commit or checkout (over the control socket) moved the base commit. */
  onBaseChanged?: (commit: string) => void
}

export interface Layers {
  readonly remote: Remote
  readonly store: Store
  /** Resolves `rev` (default: the remote HEAD) to a commit and the branch the workspace follows. */
  resolveRev(rev?: string): Promise<{ base: string; ref: string }>
  mount(mountpoint: string, state: WorkspaceState, options: MountLayerOptions): Promise<void>
  readonly controlPath?: string
  /** The workspace state the mount serves (after journal recovery). */
  state?: WorkspaceState
  /** Resolves when the FUSE session has ended (unmount from here or from outside). */
  readonly closed: Promise<void>
  unmount(): Promise<void>
  close(): Promise<void>
}

export async function openLayers(options: LayersOptions): Promise<Layers> {
  const remote = await openRemote(options.url, {
    mega: options.mega,
    path: options.path || undefined,
    timeoutMs: options.requestTimeout ? options.requestTimeout * 1000 : undefined,
  })
  const store = await openStore({ remote, cacheDir: options.cacheDir })
  let fuse: FuseMount | undefined
  let workspace: Workspace | undefined
  let control: { close(): Promise<void> } | undefined
  let closeFs: (() => Promise<void>) | undefined
  let resolveClosed!: () => void
  const closed = new Promise<void>((r) => (resolveClosed = r))
  const layers: Layers = {
    remote,
    store,
    closed,
    async resolveRev(rev?: string) {
      const resolved = await resolveBase(store, await remote.listRefs(), rev)
      // Start fetching the commit's trees now; the workspace state is written meanwhile.
      store.loadCommit(resolved.base).catch(() => {})
      return resolved
    },
    async mount(mountpoint, initial, mountOptions) {
      const stateDir = mountOptions.stateDir
      let built: BuiltFileSystem | undefined
      /** The lower view the mount shows now (prefetch requests walk it). */
      let shown: LowerView | undefined
      // Read-ahead of cold reads (SCORPIO_READ_AHEAD=0 turns it off, for comparison); --debug logs its decisions.
      const readAhead = process.env.SCORPIO_READ_AHEAD === '0' ? undefined : { log: mountOptions.debug ? (options.log ?? ((l: string) => void process.stderr.write(`${l}\n`))) : undefined }
      const openView = async (commit: string, st: WorkspaceState): Promise<LowerView> => {
        const view = await openBaseView(store, commit, st.remote.path, readAhead)
        return st.cl ? openClLayer(view, st.cl, remote) : view
      }
      // The workspace first: it finishes or rolls back an interrupted commit/checkout, which may move the base.
      const hooks: MountHooks = {
        async baseChanged(commit, changedPaths) {
          if (!built) return
          const view = await openView(commit, ws.state)
          built.overlay.origins = await loadOrigins(ws.state.upperDir)
          await built.vfs.switchBase(view, changedPaths)
          shown = view
          mountOptions.onBaseChanged?.(commit)
        },
      }
      const ws = await openWorkspace(stateDir, { store, hooks })
      workspace = ws
      const state = ws.state ?? initial
      layers.state = state
      shown = await openView(state.base, state)
      built = await buildFileSystem({
        store,
        lower: shown,
        state,
        stateDir,
        log: options.log,
        recordReads: readLogPath(stateDir),
      })
      closeFs = built.close
      // Shared with other users, the kernel checks their access against each entry's owner and
      // mode (which the overlay keeps per user); a private mount is the mounting user's alone.
      const shared = mountOptions.allowOther === true
      fuse = await mountFuse(mountpoint, built.fs, { allowOther: shared, defaultPermissions: shared, debug: mountOptions.debug, log: options.log })
      built.attach?.(fuse)
      void fuse.closed.then(resolveClosed, resolveClosed)
      control = await serveControl(stateDir, {
        ...workspaceHandlers(ws),
        // `scorpio prefetch` in this mount: the trees, sizes and server connection are warm here.
        prefetch: (a) => fetchRequested(store, shown!, prefetchRequest(a)),
        stats: async () => processStats(store),
      })
      ;(layers as { controlPath?: string }).controlPath = controlSocketPath(stateDir)
      if (mountOptions.profile?.length) startProfile(store, shown, mountOptions.profile, options.log)
    },
    async unmount() {
      if (fuse) await fuse.unmount()
      else resolveClosed()
    },
    async close() {
      await control?.close().catch(() => {})
      await workspace?.close().catch(() => {})
      await closeFs?.().catch(() => {})
      await store.close().catch(() => {})
    },
  }
  return layers
}
