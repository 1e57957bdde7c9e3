// `scorpio status [--json]`: what the workspace changes relative to its base commit. Kept lean (no
// commander, no store, no remote on its path): main.ts runs it without building the full CLI.
import type { Command } from 'commander'
import { statusCommand } from '../lib/workspace/status_command.ts'
import { action, printJson, reportUntracked } from './_common.ts'

const LETTER = { added: 'A', modified: 'M', deleted: 'D', typechange: 'T' } as const

export async function runStatus(opts: { json?: boolean; dir?: string }): Promise<void> {
  const s = await statusCommand({ dir: opts.dir })
  reportUntracked(s.untracked)
  if (opts.json) return printJson(s)
  let out = `base ${s.base}\n`
  if (s.changes.length === 0) out += 'nothing to commit, workspace clean\n'
  for (const c of s.changes) out += `${LETTER[c.status]} ${c.path}\n`
  process.stdout.write(out)
}

/**
 * The arguments of a plain `status` call (`--json`, `-C DIR`, `--dir DIR`, `--dir=DIR`, `--debug`),
 * or undefined for anything else (help, unknown options, mistakes): commander handles those.
 */
export function parseStatusArgs(argv: string[]): { json?: boolean; dir?: string } | undefined {
  if (argv[0] !== 'status') return undefined
  const opts: { json?: boolean; dir?: string } = {}
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--json') opts.json = true
    else if (a === '--debug') continue
    else if ((a === '-C' || a === '--dir') && i + 1 < argv.length && opts.dir === undefined) opts.dir = argv[++i]
    else if (a.startsWith('--dir=') && opts.dir === undefined) opts.dir = a.slice(6)
    else return undefined
  }
  return opts
}

export function register(program: Command): void {
  program
    .command('status')
    .description('list added, modified, deleted and type-changed files relative to the base commit')
    .option('--json', 'print {"base":"<commit>","changes":[{"path":"…","status":"added|modified|deleted|typechange"}]}')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir (default: the one containing the current directory)')
    .action(action(runStatus))
}
