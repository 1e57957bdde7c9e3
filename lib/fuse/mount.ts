// Mounting and unmounting. (Implementation follows.)
import type { RawFileSystem } from './raw_fs.ts'
import type { FuseMount, MountOptions } from './mount_types.ts'

/** Mounts `fs` at `mountpoint` and serves it until unmounted. The mountpoint must be an existing,
 *  empty directory (see checkMountpoint). */
export async function mountFuse(mountpoint: string, fs: RawFileSystem, options: MountOptions = {}): Promise<FuseMount> {
  void mountpoint; void fs; void options
  throw new Error('mountFuse: not implemented yet')
}

/** Throws a clear one-line Error when `path` is missing, not a directory or not empty; cleans a
 *  stale (ENOTCONN) mount with `umount -l` and a notice through `log`. */
export async function checkMountpoint(path: string, options: { log?: (line: string) => void } = {}): Promise<void> {
  void path; void options
  throw new Error('checkMountpoint: not implemented yet')
}

/** Lazily unmounts whatever is mounted at `path` (umount -l, or fusermount3 -uz when not root). */
export async function unmountPath(path: string): Promise<void> {
  void path
  throw new Error('unmountPath: not implemented yet')
}

/** Unmounts `mount` on SIGINT/SIGTERM (then lets the process exit). Returns a function that removes
 *  the handlers. */
export function unmountOnSignals(mount: FuseMount, options: { signals?: NodeJS.Signals[] } = {}): () => void {
  void mount; void options
  throw new Error('unmountOnSignals: not implemented yet')
}
