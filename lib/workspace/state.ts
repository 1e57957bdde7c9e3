// The workspace state dir: one mount's settings (`workspace.json`), its journal and, by default,
// its upper layer. Written atomically (temp + fsync + rename) so a crash leaves old or new.
import { promises as fsp } from 'node:fs'
import { createHash } from 'node:crypto'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { WorkspaceError } from '../errors.ts'

export const STATE_FILE = 'workspace.json'
export const STATE_VERSION = 1

export interface WorkspaceRemote {
  /** Git smart-HTTP URL, Mega base URL, or a local bare repository path. */
  url: string
  /** True when `url` is a Mega server. */
  mega?: boolean
  /** Subdirectory of the monorepo the workspace shows (`--path`). */
  path?: string
}

export interface WorkspaceState {
  version: number
  remote: WorkspaceRemote
  /** Branch name the workspace follows (`main`, not `refs/heads/main`). */
  ref: string
  /** Commit id the workspace shows beneath its upper layer. */
  base: string
  /** Last commit known to be on the remote for `ref` (undefined: never known). */
  pushed?: string
  /** Commits made in this workspace that are not yet on the remote (newest last). */
  localCommits?: string[]
  /** Absolute path of the upper layer. */
  upperDir: string
  /** Absolute path of the object store (shared by all workspaces). */
  cacheDir: string
  /** This remote's object directory inside cacheDir (learned on first use; lets commands skip the remote). */
  objectsDir?: string
  /** Mega CL link or local directory for the CL layer. */
  cl?: string
  /** Absolute mountpoint (may be empty when the workspace was only created offline). */
  mountpoint: string
  /** ISO date. */
  createdAt: string
}

export interface CreateWorkspaceOptions {
  remote: WorkspaceRemote
  ref: string
  base: string
  pushed?: string
  mountpoint: string
  /** Defaults to `<stateDir>/upper`. */
  upperDir?: string
  /** Defaults to defaultCacheDir(). */
  cacheDir?: string
  cl?: string
}

function env(name: string): string | undefined {
  const v = process.env[name]
  return v && v.length > 0 ? v : undefined
}

/** `$XDG_STATE_HOME/scorpio`, falling back to `~/.local/state/scorpio`. */
export function stateRoot(): string {
  return join(env('XDG_STATE_HOME') ?? join(homedir(), '.local', 'state'), 'scorpio')
}

/** Default state dir of the workspace mounted at `mountpoint`: keyed by a hash of its absolute path. */
export function defaultStateDir(mountpoint: string): string {
  const abs = resolve(mountpoint)
  const hash = createHash('sha256').update(abs).digest('hex').slice(0, 16)
  return join(stateRoot(), 'workspaces', hash)
}

/** The object store shared by all workspaces: `$SCORPIO_CACHE`, `$XDG_CACHE_HOME/scorpio` or `~/.cache/scorpio`. */
export function defaultCacheDir(): string {
  const explicit = env('SCORPIO_CACHE')
  if (explicit) return resolve(explicit)
  return join(env('XDG_CACHE_HOME') ?? join(homedir(), '.cache'), 'scorpio')
}

/** Writes `data` to `path` atomically: temp file in the same dir, fsync, rename, fsync of the dir. */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path)
  const tmp = join(dir, `.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`)
  const fh = await fsp.open(tmp, 'w', 0o644)
  try {
    await fh.writeFile(data)
    await fh.sync()
  } finally {
    await fh.close()
  }
  try {
    await fsp.rename(tmp, path)
  } catch (e) {
    await fsp.rm(tmp, { force: true })
    throw e
  }
  await syncDir(dir)
}

export async function syncDir(dir: string): Promise<void> {
  let fh: fsp.FileHandle | undefined
  try {
    fh = await fsp.open(dir, 'r')
    await fh.sync()
  } catch {
    // some file systems refuse fsync on directories; the rename is still atomic
  } finally {
    await fh?.close()
  }
}

function validate(stateDir: string, raw: unknown): WorkspaceState {
  const s = raw as Partial<WorkspaceState>
  const bad = (what: string) =>
    new WorkspaceError('state-invalid', `Workspace state "${join(stateDir, STATE_FILE)}" is damaged: ${what}; remount to recreate it`)
  if (!s || typeof s !== 'object') throw bad('not a JSON object')
  if (typeof s.version !== 'number' || s.version > STATE_VERSION) throw bad(`unsupported version ${String(s.version)}`)
  if (!s.remote || typeof s.remote.url !== 'string') throw bad('no remote url')
  if (typeof s.ref !== 'string') throw bad('no ref')
  if (typeof s.base !== 'string' || !/^[0-9a-f]{40}$/.test(s.base)) throw bad('no base commit')
  if (typeof s.upperDir !== 'string' || typeof s.cacheDir !== 'string') throw bad('no upper or cache dir')
  return s as WorkspaceState
}

/** Creates the state dir (and the default upper dir) and writes a fresh `workspace.json`. */
export async function createWorkspaceState(stateDir: string, options: CreateWorkspaceOptions): Promise<WorkspaceState> {
  const dir = resolve(stateDir)
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 })
  const state: WorkspaceState = {
    version: STATE_VERSION,
    remote: { ...options.remote },
    ref: options.ref,
    base: options.base,
    ...(options.pushed ? { pushed: options.pushed } : {}),
    upperDir: resolve(options.upperDir ?? join(dir, 'upper')),
    cacheDir: resolve(options.cacheDir ?? defaultCacheDir()),
    ...(options.cl ? { cl: options.cl } : {}),
    mountpoint: options.mountpoint ? resolve(options.mountpoint) : '',
    createdAt: new Date().toISOString(),
  }
  await fsp.mkdir(state.upperDir, { recursive: true })
  await saveWorkspaceState(dir, state)
  return state
}

/** Reads `<stateDir>/workspace.json`; a missing file is a clear WorkspaceError (code `no-workspace`). */
export async function loadWorkspaceState(stateDir: string): Promise<WorkspaceState> {
  const file = join(resolve(stateDir), STATE_FILE)
  let text: string
  try {
    text = await fsp.readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new WorkspaceError('no-workspace', `No workspace state in "${stateDir}"; mount the workspace first (scorpio mount)`)
    }
    throw e
  }
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch {
    throw validate(stateDir, undefined)
  }
  return validate(stateDir, raw)
}

/** Replaces `<stateDir>/workspace.json` atomically. */
export async function saveWorkspaceState(stateDir: string, state: WorkspaceState): Promise<void> {
  await writeFileAtomic(join(resolve(stateDir), STATE_FILE), JSON.stringify(state, null, 2) + '\n')
}
