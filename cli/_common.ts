// Shared by every subcommand: error rendering and exit codes (CLI.md: 0 ok, 1 failure, 2 usage).
import { ScorpioError, UsageError } from '../lib/errors.ts'

export const EXIT_OK = 0
export const EXIT_FAILURE = 1
export const EXIT_USAGE = 2

export function isDebug(): boolean {
  return process.argv.includes('--debug') || process.env.SCORPIO_DEBUG === '1'
}

/** Prints an error as one line (stack only with --debug) and returns the exit code it deserves. */
export function reportError(err: unknown): number {
  if (isDebug() && err instanceof Error) console.error(err.stack)
  const message = err instanceof Error ? err.message : String(err)
  console.error(`scorpio: ${message.split('\n')[0]}`)
  if (err instanceof UsageError) return EXIT_USAGE
  const code = (err as { code?: string })?.code
  // Run outside any workspace: the command line (its directory) is what must change, as for -C.
  if (code === 'commander.usage' || code === 'not-in-workspace') return EXIT_USAGE
  return EXIT_FAILURE
}

/** Wraps a command's action so that a thrown error becomes a clean line and exit code. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void | number> | void | number) {
  return async (...args: A): Promise<void> => {
    try {
      const code = await fn(...args)
      if (typeof code === 'number') process.exitCode = code
    } catch (err) {
      process.exitCode = reportError(err)
    }
  }
}

/** One stderr line per entry that Git cannot store and the command therefore left out. */
export function reportUntracked(untracked: { path: string; kind: string }[] | undefined): void {
  let out = ''
  for (const u of untracked ?? []) out += `scorpio: left out (Git cannot store a ${u.kind}): ${u.path}\n`
  if (out) process.stderr.write(out)
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value) + '\n')
}

/** True when output may carry progress bars and colours. */
export function fancyOutput(): boolean {
  return Boolean(process.stdout.isTTY) && !process.env.NO_COLOR
}

export { ScorpioError, UsageError }
