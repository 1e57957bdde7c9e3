// Constants of the FUSE kernel ABI (/usr/include/linux/fuse.h, protocol 7.38).

export const FUSE_KERNEL_VERSION = 7
/** Highest minor whose structs this driver encodes (the header it was written against). */
export const FUSE_MAX_SUPPORTED_MINOR = 38
/** Oldest minor we still talk to (fuse_init_out of 24 bytes and up, FUSE_BIG_WRITES era). */
export const FUSE_MIN_SUPPORTED_MINOR = 12

export const OPCODE = {
  LOOKUP: 1, FORGET: 2, GETATTR: 3, SETATTR: 4, READLINK: 5, SYMLINK: 6, MKNOD: 8, MKDIR: 9,
  UNLINK: 10, RMDIR: 11, RENAME: 12, LINK: 13, OPEN: 14, READ: 15, WRITE: 16, STATFS: 17,
  RELEASE: 18, FSYNC: 20, SETXATTR: 21, GETXATTR: 22, LISTXATTR: 23, REMOVEXATTR: 24, FLUSH: 25,
  INIT: 26, OPENDIR: 27, READDIR: 28, RELEASEDIR: 29, FSYNCDIR: 30, GETLK: 31, SETLK: 32,
  SETLKW: 33, ACCESS: 34, CREATE: 35, INTERRUPT: 36, BMAP: 37, DESTROY: 38, IOCTL: 39, POLL: 40,
  NOTIFY_REPLY: 41, BATCH_FORGET: 42, FALLOCATE: 43, READDIRPLUS: 44, RENAME2: 45, LSEEK: 46,
  COPY_FILE_RANGE: 47, SETUPMAPPING: 48, REMOVEMAPPING: 49, SYNCFS: 50, TMPFILE: 51, STATX: 52,
} as const

const OPNAMES = new Map<number, string>(Object.entries(OPCODE).map(([k, v]) => [v, k]))
export function opcodeName(op: number): string {
  return OPNAMES.get(op) ?? `OP${op}`
}

export const NOTIFY = { POLL: 1, INVAL_INODE: 2, INVAL_ENTRY: 3, STORE: 4, RETRIEVE: 5, DELETE: 6 } as const

// fuse_init flags (flags | flags2 << 32)
export const INIT = {
  ASYNC_READ: 1n << 0n,
  POSIX_LOCKS: 1n << 1n,
  ATOMIC_O_TRUNC: 1n << 3n,
  EXPORT_SUPPORT: 1n << 4n,
  BIG_WRITES: 1n << 5n,
  DONT_MASK: 1n << 6n,
  FLOCK_LOCKS: 1n << 10n,
  AUTO_INVAL_DATA: 1n << 12n,
  DO_READDIRPLUS: 1n << 13n,
  READDIRPLUS_AUTO: 1n << 14n,
  ASYNC_DIO: 1n << 15n,
  WRITEBACK_CACHE: 1n << 16n,
  PARALLEL_DIROPS: 1n << 18n,
  HANDLE_KILLPRIV: 1n << 19n,
  ABORT_ERROR: 1n << 21n,
  MAX_PAGES: 1n << 22n,
  CACHE_SYMLINKS: 1n << 23n,
  EXPLICIT_INVAL_DATA: 1n << 25n,
  HANDLE_KILLPRIV_V2: 1n << 28n,
  INIT_EXT: 1n << 30n,
} as const

export const FOPEN = {
  DIRECT_IO: 1 << 0, KEEP_CACHE: 1 << 1, NONSEEKABLE: 1 << 2, CACHE_DIR: 1 << 3, STREAM: 1 << 4,
  NOFLUSH: 1 << 5, PARALLEL_DIRECT_WRITES: 1 << 6,
} as const

export const FATTR = {
  MODE: 1 << 0, UID: 1 << 1, GID: 1 << 2, SIZE: 1 << 3, ATIME: 1 << 4, MTIME: 1 << 5, FH: 1 << 6,
  ATIME_NOW: 1 << 7, MTIME_NOW: 1 << 8, LOCKOWNER: 1 << 9, CTIME: 1 << 10, KILL_SUIDGID: 1 << 11,
} as const

export const GETATTR_FH = 1
export const FSYNC_FDATASYNC = 1
export const READ_LOCKOWNER = 1 << 1
export const WRITE_LOCKOWNER = 1 << 1
export const WRITE_KILL_SUIDGID = 1 << 2
export const OPEN_KILL_SUIDGID = 1

/** Size of fuse_in_header / fuse_out_header. */
export const IN_HEADER_SIZE = 40
export const OUT_HEADER_SIZE = 16
export const ATTR_SIZE = 88
export const ENTRY_OUT_SIZE = 128
export const ATTR_OUT_SIZE = 104
export const OPEN_OUT_SIZE = 16
export const DIRENT_SIZE = 24

/** Requests are at most this much payload (FUSE_MAX_PAGES = 256 pages of 4 KiB). */
export const MAX_PAGES = 256
export const MAX_WRITE = MAX_PAGES * 4096
/** Read buffer for /dev/fuse: the biggest WRITE plus headers. */
export const READ_BUFFER_SIZE = MAX_WRITE + 4096

export const S_IFMT = 0o170000
export const S_IFDIR = 0o040000
export const S_IFREG = 0o100000
export const S_IFLNK = 0o120000

