// lib/mount: the mount orchestration (remote → store → lower → overlay → vfs → FUSE → control
// socket → registry), stopping and waiting for mounts, and prefetch.
export { runMount, startMount, type MountHandle, type RunMountOptions } from './run_mount.ts'
export { resolvePaths, checkRemote, type ResolvedPaths } from './options.ts'
export { prepareMountpoint, detachMount, MountpointError } from './mountpoint.ts'
export { startInBackground, selfCommand, type BackgroundOptions } from './background.ts'
export { stopMount, type StopOptions, type StopResult } from './stop.ts'
export { waitForMount } from './wait.ts'
export { prefetchPaths, recordProfile, type PrefetchOptions, type PrefetchResult } from './prefetch.ts'
export { compileGlob, hasGlob } from './glob.ts'
export { readLogPath, readPathList, ReadRecorder, READ_LOG } from './read_log.ts'
export { buildFileSystem, type BuildOptions, type BuiltFileSystem } from './file_system.ts'
export { openClLayer, clChangesUnder } from './cl_layer.ts'
export { openBaseView } from './base_view.ts'
