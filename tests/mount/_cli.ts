// Shared by the end-to-end mount tests: run the built CLI (dist/scorpio.mjs) with an isolated
// XDG environment, start foreground mounts, and always clean up (SIGTERM, then umount -l).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { runToEnd, type RunResult } from '../helpers/run.ts'

export const CLI = resolve('dist/scorpio.mjs')

/** Fails (never skips) when the machine cannot run real mounts. */
export function requireFuse(): void {
  if (process.getuid?.() !== 0) throw new Error('these tests mount for real and need root (run as root)')
  if (!existsSync('/dev/fuse')) throw new Error('these tests need /dev/fuse (load the fuse module)')
  if (!existsSync(CLI)) throw new Error('dist/scorpio.mjs is missing: run npm run build first')
}

/** Mountpoints in this process's mount table, in mount order. */
export function mountpoints(): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4])
    .filter((p): p is string => Boolean(p))
    .map((p) => p.replace(/\\040/g, ' '))
}

export interface Sandbox {
  root: string
  env: NodeJS.ProcessEnv
  dir(name: string): string
  /** Mountpoints under the sandbox still in the mount table. */
  mountsUnder(): string[]
  cleanup(): void
}

/** An isolated XDG environment under a temp dir; cleanup unmounts whatever is left under it. */
export function sandbox(prefix = 'scorpio-e2e-'): Sandbox {
  const root = mkdtempSync(join(tmpdir(), prefix))
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    XDG_STATE_HOME: join(root, 'state'),
    XDG_CACHE_HOME: join(root, 'cache'),
    XDG_CONFIG_HOME: join(root, 'config'),
    NO_COLOR: '1',
  }
  for (const k of Object.keys(env)) if (k.startsWith('SCORPIO_')) delete env[k]
  const under = () => mountpoints().filter((p) => p.startsWith(root + '/'))
  return {
    root,
    env,
    dir(name) {
      const p = join(root, name)
      mkdirSync(p, { recursive: true })
      return p
    },
    mountsUnder: under,
    cleanup() {
      for (const mp of under().reverse()) spawnSync('umount', ['-l', mp])
      rmSync(root, { recursive: true, force: true })
    },
  }
}

export type { RunResult }

/** Runs the CLI to completion (asynchronously: a mount served by this process must keep answering). */
export function scorpio(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
  return runToEnd(process.execPath, [CLI, ...args], { env: options.env, cwd: options.cwd, timeoutMs: options.timeoutMs ?? 60_000 })
}

export interface ForegroundMount {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  /** SIGTERM and wait for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>
  exited: Promise<number | null>
}

/** Starts `scorpio mount ARGS` in the foreground; resolves once it printed its ready line. */
export async function mountForeground(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; waitReady?: boolean } = {}): Promise<ForegroundMount> {
  const child = spawn(process.execPath, [CLI, 'mount', ...args], { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exited = new Promise<number | null>((r) => child.on('exit', (code, sig) => r(code ?? (sig ? -1 : null))))
  const handle: ForegroundMount = {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal)
      return exited
    },
  }
  if (options.waitReady === false) return handle
  const end = Date.now() + 60_000
  while (!out.includes('\n')) {
    if (child.exitCode !== null) throw new Error(`mount exited ${child.exitCode}: ${err.trim()}`)
    if (Date.now() > end) {
      child.kill('SIGKILL')
      throw new Error(`mount never became ready: ${err.trim()}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
  return handle
}

export function isMounted(dir: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === dir)
}

export function sizeOf(path: string): number {
  return statSync(path).size
}

import { makeBareRepo, sampleFiles, type RepoFile, type TestRepo } from '../helpers/repos.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { noise } from '../helpers/bytes.ts'

export interface Served {
  repo: TestRepo
  server: GitServer
  url: string
  close(): Promise<void>
}

/** The sample files (or `files`) plus `count` 4 KiB incompressible files under gen/, served over git http-backend. */
export async function serveRepo(count = 200, base: RepoFile[] = sampleFiles(20)): Promise<Served> {
  const files: RepoFile[] = [...base]
  for (let i = 0; i < count; i++) files.push({ path: `gen/d${i % 10}/f${i}.bin`, content: noise(4096, i + 1) })
  const repo = await makeBareRepo({ files })
  const server = await startGitServer(join(repo.path, '..'))
  return {
    repo,
    server,
    url: server.url('repo.git'),
    async close() {
      await server.close().catch(() => {})
      repo.cleanup()
    },
  }
}

/** Async existence check: a sync one would block this process, which also runs the git server. */
export function exists(path: string): Promise<boolean> {
  return import('node:fs').then(({ promises }) => promises.lstat(path).then(() => true, () => false))
}

export interface MountSession {
  box: Sandbox
  served: Served
  /** The mountpoint: `ws` under the sandbox, or what `mountAt` gave. */
  mnt: string
  /** The sandbox's environment plus `env` of the options. */
  env: NodeJS.ProcessEnv
  /** The running mount; throws when there is none. */
  readonly mount: ForegroundMount
  /** Mounts (again) with the same arguments. */
  start(): Promise<ForegroundMount>
  /** Stops the running mount; its exit code. */
  stop(): Promise<number | null>
}

export interface WithMountOptions {
  /** Generated files under gen/ (serveRepo's count). */
  count?: number
  /** The repository's files instead of the sample ones. */
  files?: RepoFile[]
  /** Arguments before the URL, e.g. --allow-other. */
  args?: string[]
  env?: NodeJS.ProcessEnv
  /** Makes the sandbox root traversable by other users (for tests acting as nobody). */
  otherUsers?: boolean
  /** The path to mount at, made under the sandbox (default: the directory `ws`). */
  mountAt?: (box: Sandbox) => string
}

/**
 * Serves a repository, mounts it at `ws` in a fresh sandbox and runs `body`; whatever happens the
 * mount is stopped, the server closed and the sandbox removed. On failure the last mount's last 15
 * stderr lines are printed first.
 */
export async function withMount(options: WithMountOptions, body: (m: MountSession) => Promise<void>): Promise<void> {
  requireFuse()
  const box = sandbox()
  if (options.otherUsers) chmodSync(box.root, 0o755)
  const served = await serveRepo(options.count ?? 200, options.files)
  const mnt = options.mountAt ? options.mountAt(box) : box.dir('ws')
  const env = { ...box.env, ...options.env }
  let current: ForegroundMount | undefined
  let last: ForegroundMount | undefined
  const session: MountSession = {
    box,
    served,
    mnt,
    env,
    get mount() {
      if (!current) throw new Error('not mounted')
      return current
    },
    async start() {
      current = last = await mountForeground([...(options.args ?? []), served.url, mnt], { env })
      return current
    },
    async stop() {
      const m = current
      current = undefined
      return m ? m.stop() : null
    },
  }
  try {
    await session.start()
    await body(session)
  } catch (e) {
    if (last) console.error('mount stderr:\n' + last.stderr().split('\n').slice(-15).join('\n'))
    throw e
  } finally {
    await session.stop()
    await served.close()
    // Node's rm cannot remove a tree deeper than PATH_MAX (a test may make one); GNU rm can.
    if (box.mountsUnder().length === 0) await runToEnd('rm', ['-rf', box.root], { timeoutMs: 60_000 })
    box.cleanup()
  }
}
