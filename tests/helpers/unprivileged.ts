// Runs a shell script as an unprivileged user (nobody, 65534) that may mount through fusermount3.
// The script runs in a private mount namespace (unshare -m) where /dev/fuse is bind-mounted from a
// node of mode 0666 (Debian's usual mode; this machine's /dev/fuse is 0600): the machine's
// /dev/fuse is never changed, and every mount made inside disappears with the namespace, so
// nothing is left mounted even when the script or a test fails. fusermount3 must be setuid root.
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runToEnd } from './run.ts'

export const NOBODY = 65534

/** Runs `script` with sh as nobody (no namespace: for mounts made with --allow-other). */
export function asNobody(script: string) {
  return runToEnd('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', script], { timeoutMs: 30_000 })
}

export interface UnprivilegedBox {
  root: string
  /** A directory under root owned by nobody (created on first use). */
  dir(name: string): string
  /** Runs `script` with sh as nobody in the namespace; env adds HOME and the XDG dirs under root. */
  run(script: string, options?: { env?: Record<string, string>; timeoutMs?: number }): Promise<{ status: number | null; stdout: string; stderr: string }>
  cleanup(): void
}

export function unprivilegedBox(prefix = 'scorpio-unpriv-'): UnprivilegedBox {
  if (process.getuid?.() !== 0) throw new Error('unprivileged-mount tests need root to set up the nobody user’s namespace (run as root)')
  const root = mkdtempSync(join(tmpdir(), prefix))
  chmodSync(root, 0o755)
  const dir = (name: string) => {
    const p = join(root, name)
    mkdirSync(p, { recursive: true })
    chownSync(p, NOBODY, NOBODY)
    return p
  }
  const device = join(root, 'fuse-device')
  return {
    root,
    dir,
    run(script, options = {}) {
      const home = dir('home')
      const env = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: home,
        XDG_STATE_HOME: join(home, 'state'),
        XDG_CACHE_HOME: join(home, 'cache'),
        XDG_CONFIG_HOME: join(home, 'config'),
        DENO_DIR: join(home, 'deno'),
        NO_COLOR: '1',
        ...options.env,
      }
      const setup = `rm -f '${device}' && mknod '${device}' c 10 229 && chmod 666 '${device}' && mount --bind '${device}' /dev/fuse && ` +
        `exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups sh -c "$0"`
      return runToEnd('unshare', ['-m', '--propagation', 'private', 'sh', '-c', setup, script], { env, timeoutMs: options.timeoutMs ?? 120_000 })
    },
    cleanup() {
      rmSync(root, { recursive: true, force: true })
    },
  }
}
