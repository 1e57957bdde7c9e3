// `scorpio log [PATH] [--json]`: commits from the base back (first parent), marking the unpushed
// ones; with PATH only those that changed it.
import type { Command } from 'commander'
import { runInWorkspace, userPaths } from '../lib/workspace/command.ts'
import type { LogEntry } from '../lib/workspace/history.ts'
import { action, printJson, UsageError } from './_common.ts'

function date(ts: number): string {
  return new Date(ts * 1000).toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' UTC')
}

export function register(program: Command): void {
  program
    .command('log [path]')
    .description('commits from the base back (first parent); unpushed ones are marked; with PATH, those that changed it')
    .option('-n, --max-count <n>', 'how many commits (default 50)')
    .option('--json', 'print [{"commit","parents","author","committer","message","pushed"}]')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (path: string | undefined, opts: { maxCount?: string; json?: boolean; dir?: string }) => {
      const limit = opts.maxCount === undefined ? undefined : Number(opts.maxCount)
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError(`--max-count "${opts.maxCount}" is not a positive number`)
      const rel = path === undefined ? undefined : userPaths({ dir: opts.dir }, [path])[0]
      const { result } = await runInWorkspace({ dir: opts.dir }, { op: 'log', args: { limit, path: rel || undefined } })
      const entries = result as LogEntry[]
      if (opts.json) return printJson(entries)
      let out = ''
      for (const e of entries) {
        out += `commit ${e.commit}${e.pushed ? '' : ' (not pushed)'}\nAuthor: ${e.author.name} <${e.author.email}>\nDate:   ${date(e.author.timestamp)}\n\n`
        out += e.message.replace(/\n$/, '').split('\n').map((l) => '    ' + l).join('\n') + '\n\n'
      }
      process.stdout.write(out)
    }))
}
