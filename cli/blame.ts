// `scorpio blame PATH [--json]`: each line of a committed file with the commit that last changed it
// (first parent from the base), printed as `git blame` prints it.
import type { Command } from 'commander'
import { runInWorkspace, userPaths } from '../lib/workspace/command.ts'
import type { BlameResult } from '../lib/workspace/blame.ts'
import type { Person } from '../lib/store/types.ts'
import { action, printJson } from './_common.ts'

/** `2020-01-02 03:04:05 +0130`, in the author's own time zone as git shows it. */
function date(p: Person): string {
  const local = new Date((p.timestamp + p.timezoneOffset * 60) * 1000).toISOString()
  const off = Math.abs(p.timezoneOffset)
  const zone = `${p.timezoneOffset < 0 ? '-' : '+'}${String(Math.floor(off / 60)).padStart(2, '0')}${String(off % 60).padStart(2, '0')}`
  return `${local.slice(0, 10)} ${local.slice(11, 19)} ${zone}`
}

export function render(b: BlameResult): string {
  const names = Object.fromEntries(Object.entries(b.commits).map(([c, i]) => [c, i.author.name]))
  const nameWidth = Math.max(0, ...Object.values(names).map((n) => n.length))
  const numWidth = String(b.lines.length).length
  let out = ''
  for (const l of b.lines) {
    const c = b.commits[l.commit]
    const id = c?.boundary ? '^' + l.commit.slice(0, 7) : l.commit.slice(0, 8)
    const who = c ? `${c.author.name.padEnd(nameWidth)} ${date(c.author)}` : ''.padEnd(nameWidth + 26)
    out += `${id} (${who} ${String(l.line).padStart(numWidth)}) ${l.text}\n`
  }
  return out
}

export function register(program: Command): void {
  program
    .command('blame <path>')
    .description('each line of a committed file with the commit that last changed it (first parent), as git blame --first-parent')
    .option('--json', 'print {"path","commits":{id:{"author","committer","summary","boundary"}},"lines":[{"line","commit","origLine","text"}]}')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (path: string, opts: { json?: boolean; dir?: string }) => {
      const rel = userPaths({ dir: opts.dir }, [path])[0]
      const { result } = await runInWorkspace({ dir: opts.dir }, { op: 'blame', args: { path: rel } })
      const b = result as BlameResult
      if (opts.json) return printJson(b)
      process.stdout.write(render(b))
    }))
}
