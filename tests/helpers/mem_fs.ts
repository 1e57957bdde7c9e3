// A small in-memory RawFileSystem for the FUSE tests and the benchmark: files, directories,
// symlinks, hard links, device nodes, xattrs, rename2 flags, fallocate, lseek, copy_file_range.
import * as R from '../../lib/fuse/raw_fs.ts'
import { FuseError } from '../../lib/fuse/errors.ts'

const S_IFMT = 0o170000, S_IFDIR = 0o040000, S_IFREG = 0o100000, S_IFLNK = 0o120000
const O_ACCMODE = 3, O_TRUNC = 0o1000
const XATTR_CREATE = 1, XATTR_REPLACE = 2
const FALLOC_FL_KEEP_SIZE = 1, FALLOC_FL_PUNCH_HOLE = 2
const SEEK_DATA = 3, SEEK_HOLE = 4

export interface MemNode {
  ino: number
  mode: number
  uid: number
  gid: number
  rdev: number
  nlink: number
  size: number
  data: Uint8Array
  atime: [number, number]
  mtime: [number, number]
  ctime: [number, number]
  children?: Map<string, number>
  /** Subdirectories among `children` (nlink of a directory), kept up to date by every change:
   *  recounting after each create made 10k creates in one directory quadratic. */
  subdirs?: number
  parent?: number
  target?: string
  xattrs: Map<string, Uint8Array>
  lookups: number
}

function now(): [number, number] {
  const ms = Date.now()
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6]
}

export interface MemFsOptions {
  /** Entry/attribute timeouts given to the kernel (seconds; default 1). */
  timeout?: number
  /** Answer OPEN with keep_cache (the page cache survives between opens). */
  keepCache?: boolean
  /** Implement FLUSH (default true). Without it the kernel stops sending FLUSH after one ENOSYS,
   *  as it should for a file system with nothing to flush at close (the benchmark's). */
  flush?: boolean
  /** Implement the xattr opcodes (default true). Without them the kernel stops asking after one
   *  ENOSYS, e.g. for security.capability before every write (libfuse's passthrough_ll default). */
  xattr?: boolean
  /** Mark LOOKUP/GETATTR/READDIR answers stable, so the driver may repeat them until a change
   *  (default true: only requests change this file system). */
  stable?: boolean
}

export class MemFs implements R.RawFileSystem {
  readonly nodes = new Map<number, MemNode>()
  private nextIno = 2
  private nextFh = 1
  private readonly handles = new Map<number, { ino: number; entries?: R.Dirent[] }>()
  readonly timeout: number
  readonly keepCache: boolean
  readonly stable: boolean
  /** Counts of calls by method name (tests check that opcodes really arrived). */
  readonly calls = new Map<string, number>()

  constructor(options: MemFsOptions = {}) {
    this.timeout = options.timeout ?? 1
    this.keepCache = options.keepCache ?? false
    this.stable = options.stable ?? true
    if (options.flush === false) (this as { flush?: unknown }).flush = undefined
    if (options.xattr === false) {
      for (const m of ['getxattr', 'setxattr', 'listxattr', 'removexattr']) (this as Record<string, unknown>)[m] = undefined
    }
    const t = now()
    this.nodes.set(R.ROOT_INO, {
      ino: R.ROOT_INO, mode: S_IFDIR | 0o755, uid: 0, gid: 0, rdev: 0, nlink: 2, size: 0,
      data: new Uint8Array(0), atime: t, mtime: t, ctime: t, children: new Map(), subdirs: 0, parent: R.ROOT_INO,
      xattrs: new Map(), lookups: 1,
    })
  }

  private count(name: string): void {
    this.calls.set(name, (this.calls.get(name) ?? 0) + 1)
  }

  node(ino: number): MemNode {
    const n = this.nodes.get(ino)
    if (!n) throw new FuseError('ENOENT')
    return n
  }

  private dir(ino: number): MemNode {
    const n = this.node(ino)
    if (!n.children) throw new FuseError('ENOTDIR')
    return n
  }

  attr(n: MemNode): R.Attr {
    let nlink = n.nlink
    if (n.children) {
      nlink = 2 + n.subdirs!
    }
    return {
      ino: n.ino, mode: n.mode, size: n.children ? 4096 : n.size, nlink, uid: n.uid, gid: n.gid, rdev: n.rdev,
      atime: n.atime[0], atimensec: n.atime[1], mtime: n.mtime[0], mtimensec: n.mtime[1],
      ctime: n.ctime[0], ctimensec: n.ctime[1],
    }
  }

  private entry(n: MemNode): R.EntryOut {
    n.lookups++
    return { nodeid: n.ino, entryValid: this.timeout, attrValid: this.timeout, attr: this.attr(n), stable: this.stable }
  }

  private newNode(parent: MemNode, name: string, mode: number, ctx: R.RequestContext, extra: Partial<MemNode> = {}): MemNode {
    if (parent.children!.has(name)) throw new FuseError('EEXIST')
    if (Buffer.byteLength(name) > 255) throw new FuseError('ENAMETOOLONG')
    const t = now()
    const n: MemNode = {
      ino: this.nextIno++, mode, uid: ctx.uid, gid: ctx.gid, rdev: 0, nlink: 1, size: 0,
      data: new Uint8Array(0), atime: t, mtime: t, ctime: t, xattrs: new Map(), lookups: 0, ...extra,
    }
    this.nodes.set(n.ino, n)
    parent.children!.set(name, n.ino)
    if (n.children) parent.subdirs!++
    parent.mtime = parent.ctime = t
    return n
  }

  private resize(n: MemNode, size: number): void {
    if (size > n.data.length) {
      const grown = new Uint8Array(Math.max(size, Math.min(n.data.length * 2, size + (64 << 20))))
      grown.set(n.data.subarray(0, n.size))
      n.data = grown
    } else if (size < n.size) {
      n.data.fill(0, size, n.size)
    }
    n.size = size
  }

  private maybeFree(n: MemNode): void {
    if (n.nlink <= 0 && n.lookups <= 0 && ![...this.handles.values()].some((h) => h.ino === n.ino)) this.nodes.delete(n.ino)
  }

  async init(): Promise<void> { this.count('init') }

  async lookup(_c: R.RequestContext, i: R.LookupIn): Promise<R.EntryOut> {
    this.count('lookup')
    const p = this.dir(i.parent)
    const child = i.name === '.' ? p.ino : i.name === '..' ? p.parent! : p.children!.get(i.name)
    if (child === undefined) throw new FuseError('ENOENT')
    return this.entry(this.node(child))
  }

  forget(_c: R.RequestContext, i: R.ForgetIn): void {
    this.count('forget')
    const n = this.nodes.get(i.ino)
    if (!n) return
    n.lookups -= i.nlookup
    this.maybeFree(n)
  }

  async getattr(_c: R.RequestContext, i: R.GetattrIn): Promise<R.AttrOut> {
    this.count('getattr')
    return { attrValid: this.timeout, attr: this.attr(this.node(i.ino)), stable: this.stable }
  }

  async setattr(_c: R.RequestContext, i: R.SetattrIn): Promise<R.AttrOut> {
    this.count('setattr')
    const n = this.node(i.ino)
    const t = now()
    if (i.size !== undefined) {
      if (n.children) throw new FuseError('EISDIR')
      this.resize(n, i.size)
      n.mtime = t
    }
    if (i.mode !== undefined) n.mode = (n.mode & S_IFMT) | (i.mode & 0o7777)
    if (i.killSuidgid) n.mode &= ~0o6000
    if (i.uid !== undefined) n.uid = i.uid
    if (i.gid !== undefined) n.gid = i.gid
    if (i.atimeNow) n.atime = t
    else if (i.atime !== undefined) n.atime = [i.atime, i.atimensec ?? 0]
    if (i.mtimeNow) n.mtime = t
    else if (i.mtime !== undefined) n.mtime = [i.mtime, i.mtimensec ?? 0]
    n.ctime = i.ctime !== undefined ? [i.ctime, i.ctimensec ?? 0] : t
    return { attrValid: this.timeout, attr: this.attr(n) }
  }

  async readlink(_c: R.RequestContext, i: R.ReadlinkIn): Promise<string> {
    this.count('readlink')
    const n = this.node(i.ino)
    if (n.target === undefined) throw new FuseError('EINVAL')
    return n.target
  }

  async symlink(c: R.RequestContext, i: R.SymlinkIn): Promise<R.EntryOut> {
    this.count('symlink')
    const n = this.newNode(this.dir(i.parent), i.name, S_IFLNK | 0o777, c, { target: i.target })
    n.size = Buffer.byteLength(i.target)
    return this.entry(n)
  }

  async mknod(c: R.RequestContext, i: R.MknodIn): Promise<R.EntryOut> {
    this.count('mknod')
    return this.entry(this.newNode(this.dir(i.parent), i.name, i.mode & ~i.umask, c, { rdev: i.rdev }))
  }

  async mkdir(c: R.RequestContext, i: R.MkdirIn): Promise<R.EntryOut> {
    this.count('mkdir')
    const p = this.dir(i.parent)
    return this.entry(this.newNode(p, i.name, S_IFDIR | (i.mode & ~i.umask & 0o7777), c, { children: new Map(), subdirs: 0, parent: p.ino, nlink: 2 }))
  }

  private removeEntry(parent: MemNode, name: string, wantDir: boolean): void {
    const ino = parent.children!.get(name)
    if (ino === undefined) throw new FuseError('ENOENT')
    const n = this.node(ino)
    if (wantDir && !n.children) throw new FuseError('ENOTDIR')
    if (!wantDir && n.children) throw new FuseError('EISDIR')
    if (n.children?.size) throw new FuseError('ENOTEMPTY')
    parent.children!.delete(name)
    if (n.children) parent.subdirs!--
    n.nlink--
    n.ctime = parent.mtime = parent.ctime = now()
    this.maybeFree(n)
  }

  async unlink(_c: R.RequestContext, i: R.UnlinkIn): Promise<void> {
    this.count('unlink')
    this.removeEntry(this.dir(i.parent), i.name, false)
  }

  async rmdir(_c: R.RequestContext, i: R.RmdirIn): Promise<void> {
    this.count('rmdir')
    this.removeEntry(this.dir(i.parent), i.name, true)
  }

  async rename(_c: R.RequestContext, i: R.RenameIn): Promise<void> {
    this.count(i.flags ? 'rename2' : 'rename')
    const from = this.dir(i.parent), to = this.dir(i.newParent)
    const srcIno = from.children!.get(i.name)
    if (srcIno === undefined) throw new FuseError('ENOENT')
    const src = this.node(srcIno)
    const dstIno = to.children!.get(i.newName)
    if (i.flags & ~(R.RENAME_NOREPLACE | R.RENAME_EXCHANGE)) throw new FuseError('EINVAL')
    if (i.flags & R.RENAME_NOREPLACE && dstIno !== undefined) throw new FuseError('EEXIST')
    const t = now()
    if (i.flags & R.RENAME_EXCHANGE) {
      if (dstIno === undefined) throw new FuseError('ENOENT')
      const dst = this.node(dstIno)
      from.children!.set(i.name, dstIno)
      to.children!.set(i.newName, srcIno)
      const srcDir = src.children ? 1 : 0, dstDir = dst.children ? 1 : 0
      from.subdirs! += dstDir - srcDir
      to.subdirs! += srcDir - dstDir
      if (src.children) src.parent = to.ino
      if (dst.children) dst.parent = from.ino
      from.mtime = to.mtime = src.ctime = dst.ctime = t
      return
    }
    if (dstIno === srcIno) return
    if (dstIno !== undefined) {
      const dst = this.node(dstIno)
      if (dst.children && !src.children) throw new FuseError('EISDIR')
      if (!dst.children && src.children) throw new FuseError('ENOTDIR')
      this.removeEntry(to, i.newName, !!dst.children)
    }
    from.children!.delete(i.name)
    to.children!.set(i.newName, srcIno)
    if (src.children) { from.subdirs!--; to.subdirs!++ }
    if (src.children) src.parent = to.ino
    from.mtime = from.ctime = to.mtime = to.ctime = src.ctime = t
  }

  async link(_c: R.RequestContext, i: R.LinkIn): Promise<R.EntryOut> {
    this.count('link')
    const n = this.node(i.ino)
    if (n.children) throw new FuseError('EPERM')
    const p = this.dir(i.newParent)
    if (p.children!.has(i.newName)) throw new FuseError('EEXIST')
    p.children!.set(i.newName, n.ino)
    n.nlink++
    n.ctime = p.mtime = now()
    return this.entry(n)
  }

  private openHandle(ino: number, entries?: R.Dirent[]): number {
    const fh = this.nextFh++
    this.handles.set(fh, { ino, entries })
    return fh
  }

  async open(_c: R.RequestContext, i: R.OpenIn): Promise<R.OpenOut> {
    this.count('open')
    const n = this.node(i.ino)
    if (n.children) throw new FuseError('EISDIR')
    if (i.flags & O_TRUNC && (i.flags & O_ACCMODE) !== 0) { this.resize(n, 0); n.mtime = n.ctime = now() }
    if (i.openFlags & 1) n.mode &= ~0o6000 // FUSE_OPEN_KILL_SUIDGID
    return { fh: this.openHandle(n.ino), keepCache: this.keepCache }
  }

  async read(_c: R.RequestContext, i: R.ReadIn): Promise<Uint8Array> {
    this.count('read')
    const n = this.node(i.ino)
    if (i.offset >= n.size) return new Uint8Array(0)
    return n.data.subarray(i.offset, Math.min(n.size, i.offset + i.size))
  }

  async write(_c: R.RequestContext, i: R.WriteIn): Promise<R.WriteOut> {
    this.count('write')
    const n = this.node(i.ino)
    const end = i.offset + i.data.length
    if (end > n.size) this.resize(n, end)
    n.data.set(i.data, i.offset)
    n.mtime = n.ctime = now()
    if (i.writeFlags & 4) n.mode &= ~0o6000 // FUSE_WRITE_KILL_SUIDGID
    return { size: i.data.length }
  }

  async statfs(): Promise<R.Kstatfs> {
    this.count('statfs')
    return { blocks: 1 << 20, bfree: 1 << 19, bavail: 1 << 19, files: 1 << 20, ffree: (1 << 20) - this.nodes.size, bsize: 4096 }
  }

  async release(_c: R.RequestContext, i: R.ReleaseIn): Promise<void> {
    this.count('release')
    const h = this.handles.get(i.fh)
    this.handles.delete(i.fh)
    const n = h && this.nodes.get(h.ino)
    if (n) this.maybeFree(n)
  }

  async fsync(): Promise<void> { this.count('fsync') }

  async setxattr(_c: R.RequestContext, i: R.SetxattrIn): Promise<void> {
    this.count('setxattr')
    const n = this.node(i.ino)
    // Without FUSE_POSIX_ACL the kernel passes ACLs through as xattrs; storing them would make
    // `cp -a` believe the mode was set. Refuse them, as a file system without ACLs does.
    if (i.name.startsWith('system.')) throw new FuseError('EOPNOTSUPP')
    if (i.flags & XATTR_CREATE && n.xattrs.has(i.name)) throw new FuseError('EEXIST')
    if (i.flags & XATTR_REPLACE && !n.xattrs.has(i.name)) throw new FuseError('ENODATA')
    n.xattrs.set(i.name, i.value.slice())
    n.ctime = now()
  }

  async getxattr(_c: R.RequestContext, i: R.GetxattrIn): Promise<Uint8Array> {
    this.count('getxattr')
    const v = this.node(i.ino).xattrs.get(i.name)
    if (!v) throw new FuseError('ENODATA')
    return v
  }

  async listxattr(_c: R.RequestContext, i: R.ListxattrIn): Promise<string[]> {
    this.count('listxattr')
    return [...this.node(i.ino).xattrs.keys()]
  }

  async removexattr(_c: R.RequestContext, i: R.RemovexattrIn): Promise<void> {
    this.count('removexattr')
    const n = this.node(i.ino)
    if (!n.xattrs.delete(i.name)) throw new FuseError('ENODATA')
  }

  async flush(): Promise<void> { this.count('flush') }

  async opendir(_c: R.RequestContext, i: R.OpenIn): Promise<R.OpenOut> {
    this.count('opendir')
    const d = this.dir(i.ino)
    const entries: R.Dirent[] = [
      { ino: d.ino, off: 1, type: S_IFDIR, name: '.' },
      { ino: d.parent ?? d.ino, off: 2, type: S_IFDIR, name: '..' },
    ]
    for (const [name, ino] of d.children!) {
      const n = this.nodes.get(ino)
      if (n) entries.push({ ino, off: entries.length + 1, type: n.mode, name })
    }
    return { fh: this.openHandle(d.ino, entries) }
  }

  private listing(i: R.ReaddirIn): R.Dirent[] {
    const h = this.handles.get(i.fh)
    if (!h?.entries) throw new FuseError('EBADF')
    return h.entries
  }

  async readdir(_c: R.RequestContext, i: R.ReaddirIn, out: R.DirentSink<R.Dirent>): Promise<R.DirEnd> {
    this.count('readdir')
    const entries = this.listing(i)
    let k = i.offset
    for (; k < entries.length; k++) if (!out.add(entries[k])) break
    return { end: k >= entries.length, stable: this.stable }
  }

  async readdirplus(_c: R.RequestContext, i: R.ReaddirIn, out: R.DirentSink<R.DirentPlus>): Promise<R.DirEnd> {
    this.count('readdirplus')
    const entries = this.listing(i)
    let k = i.offset
    for (; k < entries.length; k++) {
      const e = entries[k]
      const n = this.nodes.get(e.ino)
      const dot = e.name === '.' || e.name === '..'
      const entry: R.EntryOut = n && !dot
        ? { nodeid: n.ino, entryValid: this.timeout, attrValid: this.timeout, attr: this.attr(n), stable: this.stable }
        : { nodeid: 0, attr: { ino: e.ino, mode: e.type } }
      if (!out.add({ off: e.off, name: e.name, type: e.type, entry })) break
      if (n && !dot) n.lookups++
    }
    return { end: k >= entries.length, stable: this.stable }
  }

  async releasedir(_c: R.RequestContext, i: R.ReleaseIn): Promise<void> {
    this.count('releasedir')
    this.handles.delete(i.fh)
  }

  async fsyncdir(): Promise<void> { this.count('fsyncdir') }

  async access(_c: R.RequestContext, i: R.AccessIn): Promise<void> {
    this.count('access')
    this.node(i.ino)
  }

  async create(c: R.RequestContext, i: R.CreateIn): Promise<R.CreateOut> {
    this.count('create')
    const n = this.newNode(this.dir(i.parent), i.name, S_IFREG | (i.mode & ~i.umask & 0o7777), c)
    return { entry: this.entry(n), open: { fh: this.openHandle(n.ino) } }
  }

  async fallocate(_c: R.RequestContext, i: R.FallocateIn): Promise<void> {
    this.count('fallocate')
    const n = this.node(i.ino)
    const end = i.offset + i.length
    if (i.mode === 0) {
      if (end > n.size) this.resize(n, end)
    } else if (i.mode === (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE)) {
      n.data.fill(0, i.offset, Math.min(end, n.size))
    } else if (i.mode === FALLOC_FL_KEEP_SIZE) {
      // reserve nothing: memory grows on write
    } else {
      throw new FuseError('EOPNOTSUPP')
    }
    n.mtime = n.ctime = now()
  }

  async lseek(_c: R.RequestContext, i: R.LseekIn): Promise<R.LseekOut> {
    this.count('lseek')
    const n = this.node(i.ino)
    if (i.whence === SEEK_DATA) {
      if (i.offset >= n.size) throw new FuseError('ENXIO')
      return { offset: i.offset }
    }
    if (i.whence === SEEK_HOLE) {
      if (i.offset >= n.size) throw new FuseError('ENXIO')
      return { offset: n.size }
    }
    throw new FuseError('EINVAL')
  }

  async copyFileRange(_c: R.RequestContext, i: R.CopyFileRangeIn): Promise<R.WriteOut> {
    this.count('copyFileRange')
    const src = this.node(i.inoIn), dst = this.node(i.inoOut)
    const len = Math.max(0, Math.min(i.len, src.size - i.offIn))
    const bytes = src.data.slice(i.offIn, i.offIn + len)
    if (i.offOut + len > dst.size) this.resize(dst, i.offOut + len)
    dst.data.set(bytes, i.offOut)
    dst.mtime = dst.ctime = now()
    return { size: len }
  }
}
