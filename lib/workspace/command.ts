// What the workspace CLI commands share: find the workspace (-C or cwd), then run the request in
// its live mount process (control socket) or, when nothing is mounted, in this process.
import { loadSettings } from '../config/mod.ts'
import { runWorkspaceRequest, type ControlRequest } from './control.ts'
import { findWorkspace, workspacePaths, type FoundWorkspace } from './find.ts'
import { resolveIdentity } from './identity.ts'
import { openWorkspace } from './workspace.ts'

export interface CommandTarget {
  /** `-C DIR`: a mountpoint or a state dir. */
  dir?: string
  cwd?: string
}

export async function runInWorkspace(target: CommandTarget, request: ControlRequest): Promise<{ result: unknown; found: FoundWorkspace }> {
  const found = findWorkspace(target.cwd ?? process.cwd(), target.dir)
  const result = await runWorkspaceRequest(found.stateDir, request, () => openWorkspace(found.stateDir))
  return { result, found }
}

/** Paths given on the command line, made workspace-relative when the command runs inside the mount. */
export function userPaths(target: CommandTarget, paths: string[]): string[] {
  const found = findWorkspace(target.cwd ?? process.cwd(), target.dir)
  return workspacePaths(paths, target.cwd ?? process.cwd(), found.mountpoint)
}

/** Author and committer resolved here (flag, env, scorpio.toml, git config), so a mount process need not guess. */
export function commitIdentity(author: string | undefined, cwd = process.cwd()) {
  let user: { name?: string; email?: string } | undefined
  try {
    user = loadSettings({}, { cwd }).settings.user
  } catch {
    user = undefined
  }
  return resolveIdentity({ author, user })
}
