// Resolving what a mount needs from settings (scorpio.toml, SCORPIO_*, flags): remote, state dir,
// cache dir, upper dir. Shared by the foreground mount and `--background` (which needs the log path).
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Settings } from '../config/mod.ts'
import { UsageError } from '../errors.ts'
import { defaultCacheDir, defaultStateDir } from '../workspace/mod.ts'

export interface RunMountOptions extends Settings {
  /** Remote URL (or omitted: `baseUrl` from settings; or the remote stored in the state dir on remount). */
  remote?: string
  mountpoint: string
  /** Upper (and state, unless given) in a temporary directory removed when the mount ends. */
  ephemeral?: boolean
  /** One-line notices (stale mount cleaned, ...). Default: stderr with a `scorpio: ` prefix. */
  notice?: (line: string) => void
  /** Workspace paths (a recorded profile) to fetch in the background once mounted. */
  profile?: string[]
  /** Log lines of the running mount (debug, read errors). Default: stderr. */
  log?: (line: string) => void
}

export interface ResolvedPaths {
  mountpoint: string
  state: string
  cache: string
  /** Explicit upper dir, if one was given (else the workspace's stored or default one). */
  upper?: string
  /** Directory to delete when the mount ends (ephemeral). */
  ephemeralRoot?: string
}

/** A remote looks like a URL or a path to a bare repository; a bare word is most likely a mistake. */
export function checkRemote(remote: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) {
    if (!/^(https?|file):\/\//i.test(remote)) throw new UsageError(`Unsupported remote "${remote}"; use an http(s):// URL or a path to a bare repository`)
    return remote
  }
  return resolve(remote)
}

export function resolvePaths(options: RunMountOptions, env: Record<string, string | undefined> = process.env): ResolvedPaths {
  const mountpoint = resolve(options.mountpoint)
  const cache = options.cache ? resolve(options.cache) : defaultCacheDir()
  // A `--background` parent made the root and hands it to its serving process, which adopts it
  // only if it is really where the parent put the state or the upper (a stray variable must not
  // make us remove some other directory at the end).
  const owned = options.ephemeral ? env.SCORPIO_EPHEMERAL_ROOT : undefined
  const adopt = owned && (options.state === join(owned, 'state') || options.upper === join(owned, 'upper'))
  if (options.ephemeral && (adopt || !(options.state && options.upper))) {
    const root = adopt ? owned : mkdtempSync(join(tmpdir(), 'scorpio-ephemeral-'))
    return {
      mountpoint,
      state: options.state ? resolve(options.state) : join(root, 'state'),
      cache,
      upper: options.upper ? resolve(options.upper) : join(root, 'upper'),
      ephemeralRoot: root,
    }
  }
  return {
    mountpoint,
    state: options.state ? resolve(options.state) : defaultStateDir(mountpoint),
    cache,
    upper: options.upper ? resolve(options.upper) : undefined,
  }
}
