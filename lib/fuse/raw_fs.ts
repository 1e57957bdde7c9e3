// The contract between the FUSE driver (bytes on /dev/fuse) and a file system above it.
//
// One OPTIONAL async method per kernel opcode; a missing method answers ENOSYS (the kernel then
// stops asking for most opcodes). Every method takes `(ctx, input)` and resolves to its reply;
// throw `FuseError('ENOENT')` (see errors.ts) for an errno; any other exception becomes EIO plus
// one log line and the mount lives on.
//
// Inode numbers and file handles are JavaScript `number`s (safe integers, < 2^53): the file system
// hands them out itself (the kernel only echoes back what it was given), so they never need
// `bigint`. Inode 1 is the root directory (ROOT_INO). Offsets and sizes are `number`s too (8 PiB).
// Times are seconds since the epoch plus a separate nanosecond field, as in the kernel header.
// Timeouts (entryValid, attrValid) are seconds as a float; 0 means "do not cache".
// Names are decoded as UTF-8 strings (a non-UTF-8 name byte sequence is not representable).
// Wire types carry the kernel header's names: fuse_attr → Attr, fuse_entry_out → EntryOut, ...
//
// Things a file system must know:
// - FUSE_ATOMIC_O_TRUNC is negotiated: O_TRUNC arrives in OpenIn.flags (truncate in open()).
// - FUSE_HANDLE_KILLPRIV_V2 is negotiated (saves a GETXATTR security.capability round trip per
//   write): clear S_ISUID/S_ISGID yourself when WriteIn.writeFlags has FUSE_WRITE_KILL_SUIDGID (4),
//   OpenIn.openFlags has FUSE_OPEN_KILL_SUIDGID (1) or SetattrIn.killSuidgid is set.
// - FUSE_POSIX_ACL is not: `system.posix_acl_*` xattrs reach setxattr as plain xattrs; answer
//   EOPNOTSUPP unless you really implement ACLs (else `cp -a` thinks modes were set via the ACL).
// - Requests are served on the main thread: never block it (no execSync/spawnSync on paths inside
//   the mount, no child_process spawn with `cwd` inside the mount: libuv blocks until the child's
//   chdir, which waits for us → deadlock).
// - Call FuseMount.notify* outside of a handler working on the same inode (the kernel may wait
//   for that handler's reply while processing the notification).

export type Ino = number

/** Inode number of the mount's root directory. */
export const ROOT_INO = 1

/** Who asked, and whether the kernel still wants the answer (INTERRUPT aborts `signal`). */
export interface RequestContext {
  /** Kernel request id. */
  readonly unique: bigint
  readonly opcode: number
  readonly uid: number
  readonly gid: number
  readonly pid: number
  /** Aborted when the kernel sends INTERRUPT for this request (e.g. the caller got a signal). */
  readonly signal: AbortSignal
}

/** fuse_attr. Missing fields are encoded as 0 (nlink: 1, blksize: 4096). */
export interface Attr {
  ino: Ino
  /** File type and permission bits, as st_mode (S_IFREG | 0o644). */
  mode: number
  size?: number
  /** 512-byte blocks; defaults to ceil(size / 512). */
  blocks?: number
  nlink?: number
  uid?: number
  gid?: number
  rdev?: number
  blksize?: number
  atime?: number
  atimensec?: number
  mtime?: number
  mtimensec?: number
  ctime?: number
  ctimensec?: number
  /** FUSE_ATTR_* flags (protocol ≥ 7.32). */
  flags?: number
}

/** fuse_entry_out: the answer to LOOKUP, MKNOD, MKDIR, SYMLINK, LINK (and CREATE's first half).
 *  Each one the kernel receives adds 1 to the inode's lookup count (undone by FORGET). */
export interface EntryOut {
  /** Inode number; 0 means a negative entry (cached "does not exist" for entryValid seconds). */
  nodeid: Ino
  generation?: number
  /** Seconds the kernel may cache the name → inode binding. */
  entryValid?: number
  /** Seconds the kernel may cache the attributes. */
  attrValid?: number
  attr: Attr
  /** The same reply holds, for every caller, until a request changes something (or a notification
   *  is sent), and its attributes are what GETATTR would answer: the driver may give both again
   *  without asking (answers.ts). Say so only for entries nothing but requests to this mount can
   *  change. */
  stable?: boolean
}

/** fuse_attr_out */
export interface AttrOut {
  attrValid?: number
  attr: Attr
  /** As EntryOut.stable. */
  stable?: boolean
}

/** fuse_open_out: flags chosen per reply (FOPEN_*). */
export interface OpenOut {
  fh?: number
  /** FOPEN_KEEP_CACHE: keep the page cache from earlier opens (contents did not change). */
  keepCache?: boolean
  /** FOPEN_DIRECT_IO: bypass the page cache for this open file. */
  directIo?: boolean
  /** FOPEN_CACHE_DIR: let the kernel cache readdir results (OPENDIR only). */
  cacheDir?: boolean
  /** FOPEN_NONSEEKABLE */
  nonseekable?: boolean
  /** FOPEN_NOFLUSH: do not send FLUSH on close. */
  noFlush?: boolean
  /** FOPEN_PARALLEL_DIRECT_WRITES */
  parallelDirectWrites?: boolean
}

/** fuse_kstatfs */
export interface Kstatfs {
  blocks: number
  bfree: number
  bavail: number
  files: number
  ffree: number
  bsize?: number
  namelen?: number
  frsize?: number
}

// ---- inputs (one per opcode; field names follow fuse_*_in, camelCased) ----

export interface LookupIn { parent: Ino; name: string }
export interface ForgetIn { ino: Ino; nlookup: number }
export interface BatchForgetIn { items: ForgetIn[] }
export interface GetattrIn { ino: Ino; /** set when the kernel asks via an open file (FUSE_GETATTR_FH) */ fh?: number }

/** fuse_setattr_in, decoded: only the fields the kernel marked valid are present. */
export interface SetattrIn {
  ino: Ino
  /** FATTR_* bitmask as received. */
  valid: number
  fh?: number
  size?: number
  mode?: number
  uid?: number
  gid?: number
  /** Seconds + nanoseconds; absent with atimeNow set means "now". */
  atime?: number
  atimensec?: number
  atimeNow?: boolean
  mtime?: number
  mtimensec?: number
  mtimeNow?: boolean
  ctime?: number
  ctimensec?: number
  /** Present when the kernel wants a truncate of an open file by its lock owner. */
  lockOwner?: bigint
  /** FATTR_KILL_SUIDGID */
  killSuidgid?: boolean
}

export interface ReadlinkIn { ino: Ino }
export interface SymlinkIn { parent: Ino; name: string; target: string }
export interface MknodIn { parent: Ino; name: string; mode: number; rdev: number; umask: number }
export interface MkdirIn { parent: Ino; name: string; mode: number; umask: number }
export interface UnlinkIn { parent: Ino; name: string }
export interface RmdirIn { parent: Ino; name: string }

/** RENAME and RENAME2 both arrive here; `flags` is 0 for RENAME, else RENAME_NOREPLACE (1) and/or
 *  RENAME_EXCHANGE (2) (RENAME_WHITEOUT is 4). */
export interface RenameIn { parent: Ino; name: string; newParent: Ino; newName: string; flags: number }
export const RENAME_NOREPLACE = 1
export const RENAME_EXCHANGE = 2
export const RENAME_WHITEOUT = 4

export interface LinkIn { ino: Ino; newParent: Ino; newName: string }
/** `flags` are the open(2) flags (O_ACCMODE, O_TRUNC, O_APPEND...). */
export interface OpenIn { ino: Ino; flags: number; openFlags: number }
export interface ReadIn { ino: Ino; fh: number; offset: number; size: number; flags: number; readFlags: number; lockOwner?: bigint }
/** `data` is a view into the request buffer: copy it if you keep it past the promise. */
export interface WriteIn { ino: Ino; fh: number; offset: number; data: Uint8Array; writeFlags: number; flags: number; lockOwner?: bigint }
export interface WriteOut { size: number }
export interface StatfsIn { ino: Ino }
export interface ReleaseIn { ino: Ino; fh: number; flags: number; releaseFlags: number; lockOwner: bigint }
export interface FsyncIn { ino: Ino; fh: number; /** fdatasync only */ datasync: boolean }
export interface SetxattrIn { ino: Ino; name: string; value: Uint8Array; flags: number }
export interface GetxattrIn { ino: Ino; name: string }
export interface ListxattrIn { ino: Ino }
export interface RemovexattrIn { ino: Ino; name: string }
export interface FlushIn { ino: Ino; fh: number; lockOwner: bigint }
export interface ReaddirIn { ino: Ino; fh: number; offset: number; size: number }
export interface AccessIn { ino: Ino; mask: number }
export interface CreateIn { parent: Ino; name: string; mode: number; umask: number; flags: number; openFlags: number }
export interface CreateOut { entry: EntryOut; open: OpenOut }
export interface InterruptIn { unique: bigint }
export interface FallocateIn { ino: Ino; fh: number; offset: number; length: number; mode: number }
export interface LseekIn { ino: Ino; fh: number; offset: number; whence: number }
export interface LseekOut { offset: number }
export interface CopyFileRangeIn {
  inoIn: Ino; fhIn: number; offIn: number
  inoOut: Ino; fhOut: number; offOut: number
  len: number; flags: number
}

/** One READDIR entry (fuse_dirent). `off` is the cookie the kernel passes back as ReaddirIn.offset
 *  to continue AFTER this entry; `type` is the DT_* value or an st_mode (S_IFDIR...). */
export interface Dirent { ino: Ino; off: number; type: number; name: string }

/** One READDIRPLUS entry (fuse_direntplus). An added entry with a non-zero `entry.nodeid` counts as a
 *  lookup (the kernel will FORGET it); `entry.nodeid` 0 sends the name only. */
export interface DirentPlus { off: number; name: string; type?: number; entry: EntryOut }

/** The reply buffer of READDIR/READDIRPLUS: `add` returns false (and keeps nothing) once the
 *  kernel's buffer is full; stop there. Only entries for which `add` returned true reach the kernel,
 *  so bump lookup counts (READDIRPLUS) only after a true. */
export interface DirentSink<T> {
  add(entry: T): boolean
}

/** What a READDIR(PLUS) handler may resolve to: `end` when its last added entry is the directory's
 *  last, `stable` when the listing holds until a request changes something (see EntryOut.stable),
 *  so the driver answers the kernel's next READDIR at the end offset itself. */
export interface DirEnd {
  end: boolean
  stable?: boolean
}

/** What INIT settled on; given to `init()`. */
export interface ConnInfo {
  major: number
  minor: number
  /** Kernel's FUSE_* capability flags (64-bit, as a bigint). */
  kernelFlags: bigint
  /** Flags we accepted. */
  flags: bigint
  maxWrite: number
  maxReadahead: number
  maxPages: number
  writebackCache: boolean
}

type Op<I, O> = (ctx: RequestContext, input: I) => Promise<O>

export interface RawFileSystem {
  /** Called once after INIT was negotiated, before any other request. */
  init?(conn: ConnInfo): Promise<void> | void
  /** Called on DESTROY, ENODEV or unmount. */
  destroy?(): Promise<void> | void

  lookup?: Op<LookupIn, EntryOut>
  /** No reply. Drop `nlookup` from the inode's lookup count. */
  forget?: (ctx: RequestContext, input: ForgetIn) => void | Promise<void>
  /** No reply. When missing, the driver calls `forget` once per item. */
  batchForget?: (ctx: RequestContext, input: BatchForgetIn) => void | Promise<void>
  getattr?: Op<GetattrIn, AttrOut>
  setattr?: Op<SetattrIn, AttrOut>
  readlink?: Op<ReadlinkIn, string | Uint8Array>
  symlink?: Op<SymlinkIn, EntryOut>
  mknod?: Op<MknodIn, EntryOut>
  mkdir?: Op<MkdirIn, EntryOut>
  unlink?: Op<UnlinkIn, void>
  rmdir?: Op<RmdirIn, void>
  /** RENAME and RENAME2 (flags in RenameIn). */
  rename?: Op<RenameIn, void>
  link?: Op<LinkIn, EntryOut>
  open?: Op<OpenIn, OpenOut>
  /** Resolve to at most `size` bytes; fewer means end of file. Returned bytes are written to the
   *  kernel without copying. */
  read?: Op<ReadIn, Uint8Array>
  write?: Op<WriteIn, WriteOut>
  statfs?: Op<StatfsIn, Kstatfs>
  release?: Op<ReleaseIn, void>
  fsync?: Op<FsyncIn, void>
  setxattr?: Op<SetxattrIn, void>
  /** Resolve to the value; the driver answers size probes and ERANGE itself. Throw ENODATA when absent. */
  getxattr?: Op<GetxattrIn, Uint8Array>
  /** Resolve to the attribute names; the driver encodes them and answers size probes / ERANGE. */
  listxattr?: Op<ListxattrIn, string[]>
  removexattr?: Op<RemovexattrIn, void>
  flush?: Op<FlushIn, void>
  opendir?: Op<OpenIn, OpenOut>
  readdir?: (ctx: RequestContext, input: ReaddirIn, out: DirentSink<Dirent>) => Promise<void | DirEnd>
  /** Offered to the kernel only when implemented (FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO). */
  readdirplus?: (ctx: RequestContext, input: ReaddirIn, out: DirentSink<DirentPlus>) => Promise<void | DirEnd>
  releasedir?: Op<ReleaseIn, void>
  fsyncdir?: Op<FsyncIn, void>
  access?: Op<AccessIn, void>
  create?: Op<CreateIn, CreateOut>
  /** No reply. The driver has already aborted the target request's `ctx.signal`. */
  interrupt?: (ctx: RequestContext, input: InterruptIn) => void
  fallocate?: Op<FallocateIn, void>
  lseek?: Op<LseekIn, LseekOut>
  copyFileRange?: Op<CopyFileRangeIn, WriteOut>
}
