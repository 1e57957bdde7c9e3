// `scorpio commit -m MESSAGE [--author "Name <email>"]`: local changes become a Git commit.
import type { Command } from 'commander'
import { runInWorkspace } from '../lib/workspace/command.ts'
import { commitIdentity } from '../lib/workspace/commit_identity.ts'
import type { CommitResult } from '../lib/workspace/commit.ts'
import { action, printJson, reportUntracked, UsageError } from './_common.ts'

export function register(program: Command): void {
  program
    .command('commit')
    .description('commit every local change on top of the base commit; prints the new commit id')
    .option('-m, --message <message>', 'the commit message')
    .option('--author <author>', 'author as "Name <email>" (default: GIT_AUTHOR_*, scorpio.toml [user], git config)')
    .option('--json', 'print {"commit","parent","tree","files"}')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (opts: { message?: string; author?: string; json?: boolean; dir?: string }) => {
      if (opts.message === undefined) throw new UsageError('A commit message is required: scorpio commit -m "what changed"')
      const identity = commitIdentity(opts.author)
      const { result } = await runInWorkspace({ dir: opts.dir }, { op: 'commit', args: { message: opts.message, identity } })
      const r = result as CommitResult
      reportUntracked(r.untracked)
      if (opts.json) return printJson({ commit: r.commit, parent: r.parent, tree: r.tree, files: r.files })
      process.stdout.write(r.commit + '\n')
    }))
}
