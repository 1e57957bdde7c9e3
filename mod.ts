// Scorpio's public library surface: everything a program embedding Scorpio may import.
// Layers from the bottom up (DESIGN.md): the FUSE driver, the object store and its remotes, the
// lower/overlay/vfs file system, workspaces (version control), mounting, and Antares job mounts.
export * from './lib/errors.ts'
export type * from './lib/store/types.ts'
export { mountFuse, checkMountpoint, unmountPath, FuseError, type RawFileSystem, type FuseMount } from './lib/fuse/mod.ts'
export { openStore } from './lib/store/mod.ts'
export { openRemote } from './lib/remote/mod.ts'
export { openLower } from './lib/lower/mod.ts'
export { Overlay } from './lib/overlay/mod.ts'
export { createVfs } from './lib/vfs/mod.ts'
export { openWorkspace, findWorkspace, loadWorkspaceState } from './lib/workspace/mod.ts'
export { startMount, runMount, stopMount, prefetchPaths } from './lib/mount/mod.ts'
export { listMounts } from './lib/registry/mod.ts'
export { serveAntares } from './lib/antares/mod.ts'
