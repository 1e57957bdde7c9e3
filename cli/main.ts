// The `scorpio` command: parses arguments and hands each subcommand to its own file. `status` and
// `--version` skip the argument parser altogether: their cost is mostly process start, so they load
// nothing they do not need (see cli/status.ts).
import { EXIT_USAGE, reportError } from './_common.ts'

declare const SCORPIO_VERSION: string
const version = typeof SCORPIO_VERSION === 'string' ? SCORPIO_VERSION : '0.0.0-dev'

async function fastPath(argv: string[]): Promise<number | undefined> {
  if (argv.length === 1 && (argv[0] === '--version' || argv[0] === '-V')) {
    process.stdout.write(version + '\n')
    return 0
  }
  if (argv[0] !== 'status') return undefined
  const { parseStatusArgs, runStatus } = await import('./status.ts')
  const opts = parseStatusArgs(argv)
  if (!opts) return undefined
  try {
    await runStatus(opts)
    return 0
  } catch (err) {
    return reportError(err)
  }
}

export async function main(argv: string[]): Promise<number> {
  const fast = await fastPath(argv)
  if (fast !== undefined) return fast
  const [{ Command, CommanderError }, { registerCommands }] = await Promise.all([import('commander'), import('./commands.ts')])
  const program = new Command('scorpio')
    .description('Mount a remote Git monorepo as a local directory: contents arrive on first read, edits stay local until you commit.')
    .version(version, '-V, --version')
    .option('--debug', 'print one line per request and reply, and stack traces')
    .exitOverride()
    // Usage errors read like every other error: one line starting with `scorpio:`.
    .configureOutput({ outputError: (text, write) => write(text.replace(/^error: /, 'scorpio: ')) })
  await registerCommands(program, argv)
  try {
    await program.parseAsync(argv, { from: 'user' })
    return typeof process.exitCode === 'number' ? process.exitCode : 0
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return 0
      return err.exitCode === 0 ? 0 : EXIT_USAGE
    }
    return reportError(err)
  }
}

const code = await main(process.argv.slice(2))
if (code !== 0) process.exitCode = code
