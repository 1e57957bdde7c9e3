// lib/fuse: Scorpio's own FUSE driver, the kernel protocol over /dev/fuse in TypeScript.
// Public surface: the RawFileSystem contract, errors, mounting, and the session (for tests).
export * from './raw_fs.ts'
export { ERRNO, FuseError, errnoName, knownErrno, toErrno } from './errors.ts'
export type { ErrnoName } from './errors.ts'
export type { FuseMount, MountOptions } from './mount_types.ts'
export { checkMountpoint, MountError, mountFuse, unmountOnSignals, unmountPath } from './mount.ts'
// For tests and tools that drive the protocol without a mount (feed bytes, collect replies).
export { FuseSession } from './session.ts'
export type { SessionOptions } from './session.ts'
