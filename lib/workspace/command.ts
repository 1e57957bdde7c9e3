// What the workspace CLI commands share: find the workspace (-C or cwd), then run the request in
// its live mount process (control socket) or, when nothing is mounted, in this process. What only
// the in-process case needs (the workspace operations, the store) is loaded only then: a command a
// mount answers costs little more than the binary's start.
import { runWorkspaceRequest, type ControlRequest } from './control.ts'
import { findWorkspace, workspacePaths, type FoundWorkspace } from './find.ts'

export interface CommandTarget {
  /** `-C DIR`: a mountpoint or a state dir. */
  dir?: string
  cwd?: string
}

export async function runInWorkspace(target: CommandTarget, request: ControlRequest): Promise<{ result: unknown; found: FoundWorkspace }> {
  const found = findWorkspace(target.cwd ?? process.cwd(), target.dir)
  const result = await runWorkspaceRequest(found.stateDir, request, async () => (await import('./workspace.ts')).openWorkspace(found.stateDir))
  return { result, found }
}

/** Paths given on the command line, made workspace-relative when the command runs inside the mount. */
export function userPaths(target: CommandTarget, paths: string[]): string[] {
  const found = findWorkspace(target.cwd ?? process.cwd(), target.dir)
  return workspacePaths(paths, target.cwd ?? process.cwd(), found.mountpoint)
}
