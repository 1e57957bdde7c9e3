// The mount itself: remote → store → lower (+ CL) → overlay → vfs → FUSE, then the registry entry.
// `startMount` returns once the mount answers; `runMount` is the foreground command around it
// (prints `ready <mountpoint>`, serves until SIGINT/SIGTERM or `scorpio umount`, unmounts cleanly).
import { promises as fsp } from 'node:fs'
import { ScorpioError, UsageError, WorkspaceError, redactUrl } from '../errors.ts'
import { listMounts, registerMount, unregisterMount, type MountRecord } from '../registry/mod.ts'
import { createWorkspaceState, loadWorkspaceState, saveWorkspaceState } from '../workspace/mod.ts'
import type { WorkspaceState } from '../workspace/mod.ts'
import { openLayers, type Layers } from './layers.ts'
import { MountpointError, prepareMountpoint } from './mountpoint.ts'
import { checkRemote, resolvePaths, type ResolvedPaths, type RunMountOptions } from './options.ts'

export type { RunMountOptions } from './options.ts'

export interface MountHandle {
  /** Absolute mountpoint. */
  readonly mountpoint: string
  readonly stateDir: string
  readonly state: WorkspaceState
  /** Resolves once the mount has ended and everything is cleaned up. */
  readonly closed: Promise<void>
  /** Unmounts and cleans up; resolves like `closed`. */
  stop(): Promise<void>
}

function stderrNotice(line: string): void {
  process.stderr.write(`scorpio: ${line}\n`)
}

async function loadExisting(stateDir: string): Promise<WorkspaceState | undefined> {
  try {
    return await loadWorkspaceState(stateDir)
  } catch (err) {
    if (err instanceof WorkspaceError && err.code === 'no-workspace') return undefined
    throw err
  }
}

/** A stat that cannot hang forever: the mount must answer within `ms`. */
async function statWithin(dir: string, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  try {
    await Promise.race([
      fsp.stat(dir),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new ScorpioError('mount', `The mount at "${dir}" did not answer within ${ms / 1000} s`)), ms))),
    ])
  } finally {
    clearTimeout(timer)
  }
}

export async function startMount(options: RunMountOptions): Promise<MountHandle> {
  const paths = resolvePaths(options)
  try {
    return await startResolved(options, paths)
  } catch (err) {
    if (paths.ephemeralRoot) await fsp.rm(paths.ephemeralRoot, { recursive: true, force: true }).catch(() => {})
    throw err
  }
}

function samePath(a: string | undefined, b: string | undefined): boolean {
  const norm = (p: string | undefined) => (p ?? '').split('/').filter(Boolean).join('/')
  return norm(a) === norm(b)
}

async function startResolved(options: RunMountOptions, paths: ResolvedPaths): Promise<MountHandle> {
  const notice = options.notice ?? stderrNotice
  const mountpoint = await prepareMountpoint(options.mountpoint, { notice })
  const existing = await loadExisting(paths.state)
  // Two processes serving one upper layer would corrupt it.
  const holder = listMounts().find((m) => m.state === paths.state && m.mountpoint !== mountpoint)
  if (holder) {
    throw new MountpointError(`The workspace in "${paths.state}" is already mounted at "${holder.mountpoint}" (pid ${holder.pid}); run scorpio umount "${holder.mountpoint}" first or use another --state`)
  }
  const given = options.remote ?? options.baseUrl
  const url = given ? checkRemote(given) : existing?.remote.url
  if (!url) throw new UsageError('No remote given: pass REMOTE (e.g. http://host/repo.git) or set base_url in scorpio.toml')
  if (existing && given && existing.remote.url !== url) {
    throw new UsageError(`The workspace in "${paths.state}" mounts ${redactUrl(existing.remote.url)}, not ${redactUrl(url)}; use another mountpoint or --state`)
  }
  if (existing && options.path !== undefined && !samePath(options.path, existing.remote.path)) {
    throw new UsageError(`The workspace in "${paths.state}" shows --path "${existing.remote.path ?? ''}", not "${options.path}"; use another mountpoint or --state`)
  }
  const mega = options.mega ?? existing?.remote.mega ?? false
  const subdir = options.path ?? existing?.remote.path ?? ''
  const cacheDir = existing && !options.cache ? existing.cacheDir : paths.cache

  let layers: Layers | undefined
  let cleaned = false
  const cleanup = async (): Promise<void> => {
    if (cleaned) return
    cleaned = true
    unregisterMount(mountpoint, { pid: process.pid })
    await layers?.close().catch(() => {})
    if (paths.ephemeralRoot) await fsp.rm(paths.ephemeralRoot, { recursive: true, force: true }).catch(() => {})
  }
  let state!: WorkspaceState
  try {
    // Failures the kernel only sees as an errno (an uncached read while the server is down) are
    // also logged, naming the path and the cause: on stderr, which is mount.log for --background.
    const log = options.log ?? ((line: string) => void process.stderr.write(`${line}\n`))
    layers = await openLayers({ url, mega, path: subdir, cacheDir, requestTimeout: options.requestTimeout, log })
    if (existing) {
      state = { ...existing, mountpoint, cacheDir }
      if (paths.upper) state.upperDir = paths.upper
      if (options.cl !== undefined) state.cl = options.cl
      if (options.rev && !isSameRev(existing, options.rev)) {
        notice(`keeping the workspace's base commit ${existing.base.slice(0, 12)} (use scorpio checkout ${options.rev} to move it)`)
      }
      await fsp.mkdir(state.upperDir, { recursive: true })
      await saveWorkspaceState(paths.state, state)
    } else {
      const { base, ref } = await layers.resolveRev(options.rev)
      state = await createWorkspaceState(paths.state, {
        remote: { url, ...(mega ? { mega } : {}), ...(subdir ? { path: subdir } : {}) },
        ref,
        base,
        pushed: base,
        mountpoint,
        upperDir: paths.upper,
        cacheDir,
        ...(options.cl ? { cl: options.cl } : {}),
      })
    }
    const opened = layers
    const startedAt = new Date().toISOString()
    const record = (base: string): MountRecord => ({
      mountpoint,
      remote: redactUrl(url),
      base,
      upper: state.upperDir,
      state: paths.state,
      cache: cacheDir,
      ...(subdir ? { path: subdir } : {}),
      pid: process.pid,
      ...(opened.controlPath ? { control: opened.controlPath } : {}),
      ...(paths.ephemeralRoot ? { ephemeral: true } : {}),
      startedAt,
    })
    await layers.mount(mountpoint, state, {
      allowOther: options.allowOther,
      debug: options.debug,
      profile: options.profile,
      stateDir: paths.state,
      onBaseChanged: (commit) => registerMount(record(commit)),
    })
    state = layers.state ?? state
    await statWithin(mountpoint, 30_000)
    registerMount(record(state.base))
  } catch (err) {
    await layers?.unmount().catch(() => {})
    await cleanup()
    throw err
  }
  const opened = layers
  const closed = opened.closed.then(cleanup, cleanup)
  return {
    mountpoint,
    stateDir: paths.state,
    state,
    closed,
    async stop() {
      await opened.unmount().catch(() => {})
      await closed
    },
  }
}

function isSameRev(state: WorkspaceState, rev: string): boolean {
  return rev === state.base || rev === state.ref || rev === `refs/heads/${state.ref}` || state.base.startsWith(rev)
}

/** Foreground `scorpio mount`: prints `ready <mountpoint>` and serves until a signal or an unmount. */
export async function runMount(options: RunMountOptions): Promise<number> {
  let handle: MountHandle | undefined
  let stopRequested = false
  const onSignal = (): void => {
    if (stopRequested) return
    stopRequested = true
    if (handle) void handle.stop()
  }
  // Installed before the mount starts: a signal during start-up still ends in a clean unmount.
  const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']
  for (const s of signals) process.on(s, onSignal)
  try {
    handle = await startMount(options)
    if (stopRequested) {
      await handle.stop()
      return 1
    }
    process.stdout.write(`ready ${options.mountpoint}\n`)
    await handle.closed
    return 0
  } finally {
    for (const s of signals) process.off(s, onSignal)
  }
}
