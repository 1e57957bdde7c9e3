// lib/workspace: a workspace's state dir and its version control (status, diff, commit, push,
// checkout, reset, restore, log), in-process or through a live mount's control socket.
export * from './state.ts'
export { openWorkspace, Workspace, type OpenWorkspaceOptions, type CommitRequest } from './workspace.ts'
export type { MountHooks, WorkspaceStore, WorkspaceContext } from './context.ts'
export { makeContext } from './context.ts'
export type { Change, ChangeStatus } from './changes.ts'
export type { StatusResult } from './status.ts'
export type { CommitResult } from './commit.ts'
export type { CheckoutResult } from './checkout.ts'
export type { DiscardResult } from './discard.ts'
export type { LogEntry, PushOutcome } from './history.ts'
export { resolveIdentity, parseAuthor } from './identity.ts'
export { findWorkspace, workspacePaths, type FoundWorkspace } from './find.ts'
export {
  callControl,
  controlSocketPath,
  NoControlServer,
  runWorkspaceRequest,
  serveControl,
  workspaceHandlers,
  type ControlHandlers,
  type ControlRequest,
} from './control.ts'
export { diffLines, splitLines } from './line_diff.ts'
export { runInWorkspace, userPaths, type CommandTarget } from './command.ts'
export { commitIdentity } from './commit_identity.ts'
