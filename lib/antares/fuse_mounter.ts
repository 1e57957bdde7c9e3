// The real JobMounter: one remote, one object store, ONE lower layer (one commit's trees, held in
// memory once) shared by every job; per job its own overlay (upper dir, optional CL layer), vfs and
// FUSE session, all in this one process. A blob one job fetched is in the shared store for the next.
import { redactUrl } from '../errors.ts'
import { mountFuse } from '../fuse/mod.ts'
import { openLower, type LowerView } from '../lower/mod.ts'
import { openClLayer } from '../mount/cl_layer.ts'
import { buildFileSystem } from '../mount/file_system.ts'
import { processStats } from '../mount/stats.ts'
import { startProfile } from '../mount/prefetch.ts'
import { readPathList } from '../mount/read_log.ts'
import { openRemote, type Remote } from '../remote/mod.ts'
import { openStore, resolveBase, type Store } from '../store/mod.ts'
import { defaultCacheDir, type WorkspaceState } from '../workspace/state.ts'
import { SubtreeView } from './subtree_view.ts'
import type { JobHandle, JobMounter, JobSpec } from './types.ts'

export interface SharedMounterOptions {
  /** Git smart-HTTP URL, Mega base URL (with `mega`) or a bare repository path. */
  url: string
  mega?: boolean
  /** Branch, tag or commit every job sees (default: the remote HEAD). */
  rev?: string
  cacheDir?: string
  /** Seconds before an uncached read fails with EIO. */
  requestTimeout?: number
  allowOther?: boolean
  debug?: boolean
  /** FUSE reader threads per job (default 1: many jobs share one process). */
  readersPerJob?: number
  log?: (line: string) => void
}

export interface SharedMounter extends JobMounter {
  readonly remote: Remote
  readonly store: Store
  /** The commit every job sees. */
  readonly base: string
  /** Branch followed (for display). */
  readonly ref: string
  /** The one lower layer all jobs share. */
  readonly lower: LowerView
  describe(): Record<string, unknown>
  close(): Promise<void>
}

export async function openSharedMounter(options: SharedMounterOptions): Promise<SharedMounter> {
  const log = options.log ?? ((line: string) => process.stderr.write(`antares: ${line}\n`))
  const cacheDir = options.cacheDir ?? defaultCacheDir()
  const remote = await openRemote(options.url, {
    mega: options.mega,
    timeoutMs: options.requestTimeout ? options.requestTimeout * 1000 : undefined,
  })
  const store = await openStore({ remote, cacheDir })
  let base: string
  let ref: string
  let lower: LowerView
  try {
    ;({ base, ref } = await resolveBase(store, await remote.listRefs(), options.rev))
    lower = await openLower(store, base, { readAhead: {} })
  } catch (err) {
    await store.close().catch(() => {})
    throw err
  }
  const live = new Set<JobHandle>()
  const started = Date.now()

  const mount = async (spec: JobSpec): Promise<JobHandle> => {
    let view = await SubtreeView.open(lower, spec.path)
    if (spec.cl) view = await openClLayer(view, spec.cl, remote)
    const state: WorkspaceState = {
      version: 1,
      remote: { url: options.url, ...(options.mega ? { mega: true } : {}), ...(spec.path !== '/' ? { path: spec.path.slice(1) } : {}) },
      ref,
      base,
      upperDir: spec.upperDir,
      cacheDir,
      ...(spec.cl ? { cl: spec.cl } : {}),
      mountpoint: spec.mountpoint,
      createdAt: new Date().toISOString(),
    }
    const built = await buildFileSystem({ store, lower: view, state, stateDir: spec.stateDir, log })
    let fuse
    try {
      fuse = await mountFuse(spec.mountpoint, built.fs, {
        allowOther: options.allowOther,
        debug: options.debug,
        readers: options.readersPerJob ?? 1,
        fsName: `scorpio-antares`,
        log,
      })
    } catch (err) {
      await built.close().catch(() => {})
      throw err
    }
    built.attach?.(fuse)
    if (spec.profile) {
      const file = spec.profile
      readPathList(file).then(
        (paths) => startProfile(store, view, paths, log),
        (err: Error) => log(`profile "${file}" of ${spec.mountId} not read (files are fetched as they are read): ${err.message}`),
      )
    }
    const f = fuse
    let unmounting: Promise<void> | undefined
    const handle: JobHandle = {
      // mountFuse resolved after INIT and a stat of the root; warm the root listing of the view.
      // Never read the mount itself from this process: a blocked libuv thread per job could
      // starve the thread pool the overlay needs to answer (a deadlock with many jobs).
      ready: view.list(view.root).then(() => {}),
      unmount() {
        unmounting ??= (async () => {
          try {
            await f.unmount()
          } finally {
            await built.close().catch(() => {})
            live.delete(handle)
          }
        })()
        return unmounting
      },
    }
    live.add(handle)
    return handle
  }

  return {
    remote,
    store,
    base,
    ref,
    lower,
    mount,
    describe: () => ({
      remote: redactUrl(options.url),
      base,
      ref,
      cache: cacheDir,
      lower_shared_since_epoch_ms: started,
    }),
    stats: () => ({ jobs: live.size, ...processStats(store) }),
    async close() {
      await Promise.all([...live].map((h) => h.unmount().catch(() => {})))
      await store.close().catch(() => {})
    },
  }
}

