// The `scorpio` command: parses arguments and hands each subcommand to its own file.
import { Command, CommanderError } from 'commander'
import { EXIT_USAGE, reportError } from './_common.ts'
import { registerCommands } from './commands.ts'

declare const SCORPIO_VERSION: string
const version = typeof SCORPIO_VERSION === 'string' ? SCORPIO_VERSION : '0.0.0-dev'

export async function main(argv: string[]): Promise<number> {
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
