// Helpers for tests that mount for real: a clear failure when FUSE is unavailable, temporary
// mountpoints, and cleanup that always unmounts (even when a test throws or the process exits).
//
// NOTE: never use execSync/spawnSync on a path inside a mount served by this same process: the
// main thread would block and could not answer the kernel. Use `sh()` (async) instead. And never
// spawn with `cwd` inside such a mount: libuv's spawn blocks the main thread until the child has
// exec'd, and the child's chdir() waits for our answer (deadlock). `sh()` does `cd` in bash instead.
import { execFile, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mountFuse } from '../../lib/fuse/mod.ts'
import type { FuseMount, MountOptions, RawFileSystem } from '../../lib/fuse/mod.ts'

/** Throws (failing the test) with a clear message when this machine cannot mount FUSE here. */
export function requireFuse(): void {
  if (!existsSync('/dev/fuse')) {
    throw new Error('FUSE tests need /dev/fuse: load the fuse module (modprobe fuse) or run the container with --device /dev/fuse')
  }
  if (process.getuid?.() !== 0) {
    throw new Error('FUSE tests need root (they mount with mount -t fuse.scorpio): run them as root, e.g. sudo npm test')
  }
}

const live = new Set<string>()
const made = new Set<string>()

function isMounted(path: string): boolean {
  try {
    return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === path)
  } catch {
    return false
  }
}

/** Last-resort cleanup on process exit: lazily unmount anything a test left mounted. */
function safetyNet(): void {
  for (const p of live) if (isMounted(p)) spawnSync('umount', ['-l', p], { stdio: 'ignore' })
  for (const d of made) {
    if (!isMounted(d)) try { rmSync(d, { recursive: true, force: true }) } catch {}
  }
}
let netInstalled = false
function installSafetyNet(): void {
  if (netInstalled) return
  netInstalled = true
  process.on('exit', safetyNet)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { safetyNet(); process.exit(sig === 'SIGINT' ? 130 : 143) })
  }
}

/** A fresh empty directory under the system temp dir (removed by the safety net). */
export function tmpMountpoint(prefix = 'scorpio-fuse-'): string {
  installSafetyNet()
  const dir = mkdtempSync(join(tmpdir(), prefix))
  made.add(dir)
  return dir
}

/** Lazily unmounts `path` if mounted (never throws). */
export function forceUnmount(path: string): void {
  if (isMounted(path)) spawnSync('umount', ['-l', path], { stdio: 'ignore' })
  live.delete(path)
}

/** Mounts `fs` on a temp mountpoint, runs `fn`, then always unmounts (umount, or umount -l). */
export async function withMount<T>(fs: RawFileSystem, fn: (mnt: string, mount: FuseMount) => Promise<T>, options: MountOptions = {}): Promise<T> {
  requireFuse()
  const mnt = tmpMountpoint()
  live.add(mnt)
  const mount = await mountFuse(mnt, fs, { log: () => {}, ...options })
  try {
    return await fn(mnt, mount)
  } finally {
    try {
      await Promise.race([mount.unmount(), new Promise((_, rej) => setTimeout(() => rej(new Error('unmount timed out')), 10_000))])
    } catch {
      forceUnmount(mnt)
    }
    live.delete(mnt)
    try { rmSync(mnt, { recursive: true, force: true }) } catch {}
    made.delete(mnt)
  }
}

/** Runs a bash command asynchronously (so this process keeps serving its mounts); resolves to
 *  stdout, rejects with an Error carrying stderr and the exit code. */
export function sh(command: string, options: { cwd?: string; env?: Record<string, string> } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const script = options.cwd ? `cd '${options.cwd.replace(/'/g, `'\\''`)}' && ${command}` : command
    execFile('bash', ['-c', script], { env: { ...process.env, ...options.env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      if (err) {
        const e = new Error(`\`${command}\` failed (${(err as { code?: unknown }).code}): ${String(stderr).trim()}`) as Error & { stderr: string; exitCode: unknown }
        e.stderr = String(stderr)
        e.exitCode = (err as { code?: unknown }).code
        reject(e)
      } else {
        resolve(String(stdout))
      }
    })
  })
}
