// `scorpio mount --background`: re-runs the same command detached, its output going to a log file,
// and returns once the child printed `ready` (or exited, with its reason).
import { spawn } from 'node:child_process'
import { closeSync, fstatSync, mkdirSync, openSync, readSync } from 'node:fs'
import { dirname } from 'node:path'
import { ScorpioError, UsageError } from '../errors.ts'

/** The command that starts this same program again: node + script, or a compiled binary alone;
 *  `runtimeFlags` go to the runtime (before the script), not to a compiled binary. */
export function selfCommand(runtimeFlags: string[] = []): { command: string; args: string[] } {
  const script = process.argv[1]
  const compiled = !script || script.startsWith('/$bunfs/') || script.startsWith('B:/~BUN') || process.execPath === script
  if (compiled) return { command: process.execPath, args: [] }
  return { command: process.execPath, args: [...process.execArgv, ...runtimeFlags, script] }
}

/** The child exited before it was ready; `output` is all it printed. */
export class BackgroundExitError extends ScorpioError {
  constructor(message: string, readonly output: string) {
    super('background', message)
  }
}

export interface BackgroundOptions {
  /** Arguments for the child (the original ones minus --background). */
  args: string[]
  logFile: string
  /** How long to wait for `ready`; default 10 minutes (a big first fetch). */
  timeoutMs?: number
  env?: NodeJS.ProcessEnv
  /** Flags for the runtime of the child (see servingProcessFlags in heap.ts). */
  runtimeFlags?: string[]
}

/** What was appended to the log since `offset`, read through our own descriptor (the child may
 *  remove the file, e.g. an ephemeral state dir after a failure, and we still read its reason). */
function readFrom(fd: number, offset: number): string {
  const size = fstatSync(fd).size
  if (size <= offset) return ''
  const buf = Buffer.alloc(size - offset)
  const n = readSync(fd, buf, 0, buf.length, offset)
  return buf.subarray(0, n).toString('utf8')
}

/** Starts the detached child; resolves with its pid once it is ready, rejects with its last error line.
 *  `notices`: the `scorpio: ...` lines the child printed before it was ready (a stale mount cleaned
 *  up, a --rev that an existing workspace does not follow), for the caller to show: the user only
 *  sees this process's stderr. */
export async function startInBackground(options: BackgroundOptions): Promise<{ pid: number; readyLine: string; notices: string[] }> {
  mkdirSync(dirname(options.logFile), { recursive: true })
  const fd = openSync(options.logFile, 'a+')
  const offset = fstatSync(fd).size
  const self = selfCommand(options.runtimeFlags)
  const child = spawn(self.command, [...self.args, ...options.args], {
    detached: true,
    stdio: ['ignore', fd, fd],
    env: { ...(options.env ?? process.env), SCORPIO_BACKGROUND_CHILD: '1' },
  })
  let exited: number | null | undefined
  let spawnError: Error | undefined
  child.on('exit', (code, signal) => (exited = code ?? (signal ? 128 : 1)))
  child.on('error', (err) => (spawnError = err))
  const deadline = Date.now() + (options.timeoutMs ?? 600_000)
  try {
    for (;;) {
      const out = readFrom(fd, offset)
      const lines = out.split('\n')
      const at = lines.findIndex((l) => l.startsWith('ready '))
      if (at >= 0) return { pid: child.pid!, readyLine: lines[at], notices: lines.slice(0, at).filter((l) => l.startsWith('scorpio: ')) }
      if (spawnError) throw new ScorpioError('background', `Cannot start the mount process: ${spawnError.message}`)
      if (exited !== undefined) {
        const said = lines.filter((l) => l.trim() !== '')
        const reason = [...said].reverse().find((l) => l.startsWith('scorpio: ')) ?? said.at(-1) ?? `exit code ${exited}`
        // Exit code 2 is a usage error (a bad flag or revision): the caller's exit code stays 2.
        if (exited === 2) throw new UsageError(reason.replace(/^scorpio: /, ''))
        throw new BackgroundExitError(reason.replace(/^scorpio: /, ''), out)
      }
      if (Date.now() > deadline) {
        child.kill('SIGTERM')
        throw new ScorpioError('background', `The mount did not become ready in time; see "${options.logFile}"`)
      }
      // Short polls first: a mount of a cached or small repository is ready in a fraction of a second.
      await new Promise((r) => setTimeout(r, Date.now() < deadline - (options.timeoutMs ?? 600_000) + 3000 ? 10 : 50))
    }
  } finally {
    closeSync(fd)
    child.unref()
    child.removeAllListeners()
  }
}
