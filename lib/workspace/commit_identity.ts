// The author and committer of `scorpio commit`, resolved in the CLI process (its own flags, env and
// directory), so that a mount process answering the commit need not guess.
import { loadSettings } from '../config/mod.ts'
import { resolveIdentity } from './identity.ts'

/** Author and committer: flag, env, scorpio.toml, git config. */
export function commitIdentity(author: string | undefined, cwd = process.cwd()) {
  let user: { name?: string; email?: string } | undefined
  try {
    user = loadSettings({}, { cwd }).settings.user
  } catch {
    user = undefined
  }
  return resolveIdentity({ author, user })
}
