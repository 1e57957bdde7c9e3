// `scorpio antares serve`: one process serving many isolated CI job mounts over one shared lower
// layer, behind Mega Antares's HTTP routes. Prints `listening <url>` once it accepts requests and
// serves until SIGINT/SIGTERM, which unmounts every job (the next start brings them back).
import type { Command } from 'commander'
import { join, resolve } from 'node:path'
import { loadSettings } from '../lib/config/mod.ts'
import { redactUrl } from '../lib/errors.ts'
import { DEFAULT_BIND, serveAntares } from '../lib/antares/mod.ts'
import { boundHeapGrowth, collectDeadBuffersEarly } from '../lib/mount/heap.ts'
import { stateRoot } from '../lib/workspace/state.ts'
import { action, isDebug, printJson, UsageError } from './_common.ts'

interface ServeFlags {
  bind: string
  token?: string
  state?: string
  rev?: string
  mega?: boolean
  cache?: string
  allowOther?: boolean
  json?: boolean
  requestTimeout?: string
}

export function defaultAntaresStateDir(): string {
  return process.env.SCORPIO_ANTARES_STATE ? resolve(process.env.SCORPIO_ANTARES_STATE) : join(stateRoot(), 'antares')
}

export function register(program: Command): void {
  const antares = program
    .command('antares')
    .description('CI isolation: serve many isolated job mounts of one remote over HTTP (Mega Antares API)')
    .action(action(() => {
      throw new UsageError('Missing subcommand: scorpio antares serve [REMOTE] [--bind HOST:PORT] (see scorpio antares --help)')
    }))
  antares
    .command('serve')
    .description('serve job mounts over one shared in-memory lower layer until SIGINT/SIGTERM')
    .argument('[remote]', 'Git smart-HTTP URL, Mega base URL with --mega, or a bare repository path (default: base_url from scorpio.toml)')
    .option('--bind <host:port>', 'address to listen on; a non-loopback address needs --token', DEFAULT_BIND)
    .option('--token <token>', 'bearer token clients must send (default: $SCORPIO_TOKEN)')
    .option('--state <dir>', 'server state: antares.json, job mountpoints and uppers (default: $XDG_STATE_HOME/scorpio/antares)')
    .option('--rev <rev>', 'branch, tag or commit id (abbreviated too; ~N and ^N for ancestors) every job sees (default: the remote HEAD)')
    .option('--mega', 'REMOTE is a Mega server base URL')
    .option('--cache <dir>', 'the shared object store (default: $XDG_CACHE_HOME/scorpio)')
    .option('--allow-other', 'let other users see the job mounts (FUSE allow_other)')
    .option('--request-timeout <seconds>', 'how long a remote request may take before a read fails with EIO')
    .option('--json', 'print {"url","state","remote","base","ref"} instead of the `listening` line')
    .action(action(async (remote: string | undefined, flags: ServeFlags) => {
      const timeout = flags.requestTimeout === undefined ? undefined : Number(flags.requestTimeout)
      if (timeout !== undefined && !(timeout > 0)) throw new UsageError(`--request-timeout "${flags.requestTimeout}" must be a positive number of seconds`)
      const { settings } = loadSettings({
        rev: flags.rev, mega: flags.mega, cache: flags.cache, allowOther: flags.allowOther,
        debug: isDebug() || undefined, requestTimeout: timeout,
      })
      const url = remote ?? settings.baseUrl
      if (!url) throw new UsageError('No remote given: scorpio antares serve REMOTE (e.g. http://host/repo.git), or set base_url in scorpio.toml')
      const token = flags.token ?? (process.env.SCORPIO_TOKEN || undefined)
      const stateDir = flags.state ? resolve(flags.state) : defaultAntaresStateDir()
      // Refuse a bad bind before the (possibly long) fetch of the lower layer.
      const { parseBind, checkBindSecurity } = await import('../lib/antares/mod.ts')
      checkBindSecurity(parseBind(flags.bind), token)
      const { openSharedMounter } = await import('../lib/antares/fuse_mounter.ts')
      const mounter = await openSharedMounter({
        url, mega: settings.mega, rev: settings.rev, cacheDir: settings.cache, requestTimeout: settings.requestTimeout,
        allowOther: settings.allowOther, debug: settings.debug,
      })
      let running
      try {
        boundHeapGrowth()
        collectDeadBuffersEarly()
        running = await serveAntares(mounter, { stateDir, bind: flags.bind, token })
      } catch (err) {
        await mounter.close()
        throw err
      }
      const info = mounter.describe()
      if (flags.json) printJson({ url: running.url, state: stateDir, remote: redactUrl(url), base: info.base, ref: info.ref })
      else process.stdout.write(`listening ${running.url}\n`)
      await new Promise<void>((done) => {
        let stopping = false
        const stop = (): void => {
          if (stopping) return
          stopping = true
          process.stderr.write('antares: stopping, unmounting every job\n')
          running.close().then(done, (err) => {
            process.stderr.write(`antares: shutdown: ${(err as Error).message}\n`)
            done()
          })
        }
        for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.once(s, stop)
      })
      return 0
    }))
}
