// `scorpio mount [REMOTE] MOUNTPOINT ...`: foreground by default (prints `ready <mountpoint>`),
// `--background` returns once the detached mount is ready.
import type { Command } from 'commander'
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { loadSettings, type Settings } from '../lib/config/mod.ts'
import { BackgroundExitError, startInBackground } from '../lib/mount/background.ts'
import { boundHeapGrowth, collectDeadBuffersEarly, jscOptionsRejected, servingProcessEnv, servingProcessFlags } from '../lib/mount/heap.ts'
import { resolvePaths } from '../lib/mount/options.ts'
import { runMount } from '../lib/mount/run_mount.ts'
import { readPathList } from '../lib/mount/read_log.ts'
import { action, isDebug, UsageError } from './_common.ts'

interface MountFlags {
  rev?: string
  path?: string
  mega?: boolean
  upper?: string
  cl?: string
  state?: string
  cache?: string
  background?: boolean
  allowOther?: boolean
  debug?: boolean
  ephemeral?: boolean
  requestTimeout?: string
  profile?: string
}

/** The argv of the background child: the same command minus --background. */
function childArgs(argv: string[], extra: string[]): string[] {
  return [...argv.filter((a) => a !== '--background'), ...extra]
}

export function register(program: Command): void {
  program
    .command('mount')
    .description('mount a remote Git repository (or a Mega monorepo) on an empty directory; contents arrive on first read')
    .argument('[remote]', 'Git smart-HTTP URL, Mega base URL with --mega, or a bare repository path (default: base_url from scorpio.toml)')
    .argument('[mountpoint]', 'an existing empty directory')
    .option('--rev <rev>', 'branch, tag or commit id to show (abbreviated too; ~N and ^N for ancestors, e.g. main~3; default: the remote HEAD)')
    .option('--path <subdir>', 'mount only this subdirectory of the monorepo')
    .option('--mega', 'REMOTE is a Mega server base URL')
    .option('--upper <dir>', 'where local changes live (default: inside the state dir)')
    .option('--cl <link|dir>', 'a Mega CL link or a local directory layered between upper and lower')
    .option('--state <dir>', 'the workspace state dir (default: under $XDG_STATE_HOME/scorpio)')
    .option('--cache <dir>', 'the shared object store (default: $XDG_CACHE_HOME/scorpio)')
    .option('--background', 'return once the mount is ready; the serving process keeps running')
    .option('--allow-other', 'let other users see the mount (FUSE allow_other)')
    .option('--ephemeral', 'keep the upper layer in a temporary directory removed when the mount ends')
    .option('--request-timeout <seconds>', 'how long a remote request may take before a read fails with EIO')
    .option('--profile <file>', 'start fetching the paths listed in FILE (scorpio prefetch --record) in the background once mounted')
    .action(action(async (a: string | undefined, b: string | undefined, flags: MountFlags) => {
      const [remote, mountpoint] = b === undefined ? [undefined, a] : [a, b]
      if (!mountpoint) throw new UsageError('Missing MOUNTPOINT: scorpio mount [REMOTE] MOUNTPOINT')
      const timeout = flags.requestTimeout === undefined ? undefined : Number(flags.requestTimeout)
      if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--request-timeout "${flags.requestTimeout}" must be a positive number of seconds`)
      const fromFlags: Settings = {
        rev: flags.rev,
        path: flags.path,
        mega: flags.mega,
        upper: flags.upper,
        cl: flags.cl,
        state: flags.state,
        cache: flags.cache,
        allowOther: flags.allowOther,
        debug: isDebug() || undefined,
        requestTimeout: timeout,
      }
      const { settings } = loadSettings(fromFlags)
      // Read here so that a bad file is a one-line error before anything is mounted.
      const profile = flags.profile === undefined ? undefined : await readPathList(resolve(flags.profile)).catch((err: Error) => {
        throw new UsageError(`Cannot read profile "${flags.profile}": ${err.message}; give a file written by scorpio prefetch --record`)
      })
      const options = { ...settings, remote, mountpoint, ephemeral: flags.ephemeral, profile }
      if (flags.background) {
        const paths = resolvePaths(options)
        const extra: string[] = []
        // The serving process adopts an ephemeral root made here instead of making a second one.
        const env = (jsc: boolean) => servingProcessEnv({ ...process.env, ...(paths.ephemeralRoot ? { SCORPIO_EPHEMERAL_ROOT: paths.ephemeralRoot } : {}) }, { jsc })
        if (paths.ephemeralRoot) {
          if (paths.state === join(paths.ephemeralRoot, 'state')) extra.push('--state', paths.state)
          else extra.push('--upper', paths.upper!)
        }
        const start = (jsc: boolean) => startInBackground({ args: childArgs(process.argv.slice(2), extra), logFile: join(paths.state, 'mount.log'), env: env(jsc), runtimeFlags: servingProcessFlags() })
        try {
          // A Bun whose JavaScriptCore lacks one of our heap options refuses to start: once more without them.
          const started = await start(true).catch((err) => {
            if (err instanceof BackgroundExitError && jscOptionsRejected(err.output)) return start(false)
            throw err
          })
          for (const line of started.notices) process.stderr.write(`${line}\n`)
        } catch (err) {
          if (paths.ephemeralRoot) rmSync(paths.ephemeralRoot, { recursive: true, force: true })
          throw err
        }
        process.stdout.write(`ready ${mountpoint}\n`)
        return 0
      }
      boundHeapGrowth()
      collectDeadBuffersEarly()
      return runMount(options)
    }))
}
