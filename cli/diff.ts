// `scorpio diff [PATH...]`: a Git-format diff of the workspace against its base commit.
import type { Command } from 'commander'
import { runInWorkspace, userPaths } from '../lib/workspace/command.ts'
import { action } from './_common.ts'

export function register(program: Command): void {
  program
    .command('diff')
    .description('print a Git-format unified diff of local changes, binary files as GIT binary patches (git apply accepts it on a checkout of the base)')
    .argument('[paths...]', 'limit to these files or directories')
    .option('-C, --dir <dir>', 'the workspace: a mountpoint or a state dir')
    .action(action(async (paths: string[], opts: { dir?: string }) => {
      const rel = userPaths({ dir: opts.dir }, paths)
      const { result } = await runInWorkspace({ dir: opts.dir }, { op: 'diff', args: { paths: rel } })
      process.stdout.write((result as { diff: string }).diff)
    }))
}
