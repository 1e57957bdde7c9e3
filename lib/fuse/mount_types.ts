// Options and handle of a live mount (see mount.ts for mountFuse / checkMountpoint).
import type { Ino } from './raw_fs.ts'

export interface MountOptions {
  /** -o allow_other: let other users (and root) see the mount. */
  allowOther?: boolean
  /** -o default_permissions: the kernel checks modes itself (ACCESS is then rarely sent). */
  defaultPermissions?: boolean
  /** One line per request and reply to `log` (default: stderr). */
  debug?: boolean
  /** Source shown in /proc/mounts (default 'scorpio'). */
  fsName?: string
  /** Type suffix: fuse.<subtype> (default 'scorpio'). */
  subtype?: string
  /** Ask for FUSE_WRITEBACK_CACHE (the kernel buffers writes; the FS must tolerate it). */
  writebackCache?: boolean
  /** Mount read-only (-o ro). */
  readOnly?: boolean
  /** Kernel readahead for the mount in KiB (default 1024, so page-cache reads arrive as 1 MiB
   *  requests instead of 128 KiB; set through /sys/class/bdi, root only; 0 keeps the kernel's). */
  readAheadKb?: number
  /** Let the reader threads answer repeated requests from stable replies (answers.ts; default
   *  true, off with `debug`, which logs every request). */
  readerAnswers?: boolean
  /** Threads blocked in read(2) on /dev/fuse (default 2). */
  readers?: number
  /** Where log lines go (default: one line to stderr). */
  log?: (line: string) => void
}

export interface FuseMount {
  readonly mountpoint: string
  /** Unmounts (umount -l as root, fusermount3 -uz otherwise) and resolves once the session ended. */
  unmount(): Promise<void>
  /** Resolves when the session ends: DESTROY, ENODEV (unmounted from outside) or unmount(). */
  readonly closed: Promise<void>
  /** Drop cached pages of `ino` in [off, off+len) (len 0 = to the end; off -1 = attributes only). */
  notifyInvalInode(ino: Ino, off: number, len: number): Promise<void>
  /** Drop the kernel's cached dentry `name` in directory `parent`. */
  notifyInvalEntry(parent: Ino, name: string): Promise<void>
  /** Like notifyInvalEntry, and also tells inotify/fanotify watchers that `child` was deleted. */
  notifyDelete(parent: Ino, child: Ino, name: string): Promise<void>
}
