// The writable union: every change lands in the upper dir; lower entries are copied up (atomically,
// temp in .scorpio-work + rename) before they change, deleted ones are whited out, renamed lower
// entries become metacopies / origin directories (metadata only, nothing downloaded).
import { chmodSync, closeSync, constants as C, fchmodSync, fstatSync, fsync, lstatSync, fdatasync, ftruncateSync, mkdirSync, openSync, promises as fsp, read as readAsync, readSync, unlinkSync, utimesSync, write as writeAsync, writeFileSync, writeSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { LowerEntry, LowerView } from '../lower/types.ts'
import { baseName, joinPath, lstatOrUndef, OverlayCore, parentOf, type OvNode } from './core.ts'
import { fsError, isErrno } from './errors.ts'
import { getXattrs, isPrivateXattr, removeXattr, setOrigin, setXattr } from './xattr.ts'
import { makeDevice, makeFifo, makeSocket } from './special_files.ts'
import { isWhiteoutStat, OPAQUE_MARKER, WHITEOUT_PREFIX, whiteoutName, type Origin } from './upper_format.ts'

export const RENAME_NOREPLACE = 1
export const RENAME_EXCHANGE = 2

/** An open file: an fd on the upper file, or the lower entry (contents fetched on first read). */
export interface OvHandle {
  path: string
  fd?: number
  lower?: LowerEntry
  data?: Promise<Uint8Array>
  writable: boolean
}

export interface SetAttr {
  mode?: number
  uid?: number
  gid?: number
  size?: number
  atimeMs?: number
  mtimeMs?: number
}

const WRITE_FLAGS = C.O_WRONLY | C.O_RDWR | C.O_APPEND | C.O_TRUNC
/** Reads and writes up to this size on upper files are synchronous (see lstatOrUndef in core.ts);
 *  bigger ones go through the thread pool, so that a disk throttling writeback does not stall
 *  every other request for the length of a megabyte. */
const SYNC_IO_MAX = 64 << 10

function callback<T>(run: (done: (err: NodeJS.ErrnoException | null, v: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((err, v) => (err ? reject(err) : resolve(v))))
}

const S_ISUID = 0o4000
const S_ISGID = 0o2000
/** The serving process's own umask, read once: the kernel already applied the caller's, so a mode
 *  that this one would cut is set again with chmod (the process umask must not change, it guards
 *  the state and cache files). */
const PROCESS_UMASK = (() => {
  try {
    const m = process.umask(0o022)
    process.umask(m)
    return m
  } catch {
    return 0o777 // a worker may not touch the umask: then always chmod
  }
})()

export class Overlay extends OverlayCore {
  private tmp(): string {
    return join(this.workDir, randomBytes(8).toString('hex'))
  }

  /** Swaps the view beneath the upper (commit, checkout). The caller invalidates kernel caches. */
  switchLower(lower: LowerView): void {
    this.lower = lower
    this.invalidate('')
  }

  // ---- copy-up ------------------------------------------------------------------------------

  /** Makes `path` (a directory) and its ancestors exist in the upper. */
  async ensureUpperDir(path: string): Promise<void> {
    const state = await this.dirState(path)
    if (state.upper) return
    await this.ensureUpperDir(parentOf(path))
    try {
      mkdirSync(this.upperPath(path), { mode: 0o755 })
      const t = this.lower.mtimeMs / 1000
      utimesSync(this.upperPath(path), t, t)
    } catch (e) {
      if (!isErrno(e, 'EEXIST')) throw e
    }
    this.markUpperDir(path)
  }

  private copyUps = new Map<string, Promise<OvNode>>()

  /**
   * Materializes a file or symlink with its full contents (atomic); `empty` skips the download.
   * One copy-up per path at a time: a second opener waits for the first instead of racing it.
   */
  async copyUp(path: string, options: { empty?: boolean } = {}): Promise<OvNode> {
    for (;;) {
      const running = this.copyUps.get(path)
      if (!running) break
      await running.catch(() => {})
    }
    const p = this.copyUpOnce(path, options)
    this.copyUps.set(path, p)
    try {
      return await p
    } finally {
      if (this.copyUps.get(path) === p) this.copyUps.delete(path)
    }
  }

  private async copyUpOnce(path: string, options: { empty?: boolean }): Promise<OvNode> {
    const node = await this.lookupOrThrow(path)
    if (node.type === 'dir') {
      await this.ensureUpperDir(path)
      return (await this.lookup(path))!
    }
    if (node.upper && !node.origin) return node
    await this.ensureUpperDir(parentOf(path))
    const tmp = this.tmp()
    const src = node.lower!
    try {
      if (node.type === 'symlink') {
        await fsp.symlink(new TextDecoder().decode(await this.readLower(path, src)), tmp)
      } else {
        const data = options.empty ? new Uint8Array(0) : await this.readLower(path, src)
        const old = node.upper ? await fsp.lstat(this.upperPath(path)) : undefined
        await fsp.writeFile(tmp, data, { mode: 0o600 })
        await fsp.chmod(tmp, old ? old.mode & 0o7777 : src.perm)
        const at = old ? old.atimeMs / 1000 : this.lower.mtimeMs / 1000
        const mt = old ? old.mtimeMs / 1000 : this.lower.mtimeMs / 1000
        await fsp.utimes(tmp, at, mt)
        if (old && (old.uid !== this.uid || old.gid !== this.gid)) await fsp.chown(tmp, old.uid, old.gid).catch(() => {})
      }
      await fsp.rename(tmp, this.upperPath(path))
    } catch (e) {
      await fsp.rm(tmp, { force: true }).catch(() => {})
      throw e
    }
    this.origins.delete(path)
    return (await this.lookup(path))!
  }

  /** Removes a whiteout for `path` (either form); true when there was one. */
  private async dropWhiteout(path: string): Promise<boolean> {
    const name = whiteoutName(baseName(path))
    let had = false
    if (name) {
      try {
        unlinkSync(join(this.upperPath(parentOf(path)), name))
        had = true
      } catch (e) {
        if (!isErrno(e, 'ENOENT', 'ENOTDIR')) throw e
      }
    }
    const st = lstatOrUndef(this.upperPath(path))
    if (st && isWhiteoutStat(st)) {
      unlinkSync(this.upperPath(path))
      had = true
    }
    return had
  }

  private async writeWhiteoutIfNeeded(path: string): Promise<void> {
    if (!(await this.belowOf(path))) return
    await this.ensureUpperDir(parentOf(path))
    const name = whiteoutName(baseName(path))
    if (name) writeFileSync(this.upperPath(joinPath(parentOf(path), name)), '')
    else await makeDevice(this.upperPath(path), 'c', 0, 0)
  }

  /** Prepares the parent of a new entry: exists, is a dir, name free. */
  private async prepareNew(path: string): Promise<boolean> {
    if (path === '') throw fsError('EEXIST', '/')
    if (baseName(path).startsWith(WHITEOUT_PREFIX)) throw fsError('EINVAL', `names starting with ${WHITEOUT_PREFIX} are reserved: ${path}`)
    if (await this.lookup(path)) throw fsError('EEXIST', path)
    await this.ensureUpperDir(parentOf(path))
    return this.dropWhiteout(path)
  }

  // ---- files --------------------------------------------------------------------------------

  async open(path: string, flags: number): Promise<OvHandle> {
    const node = await this.lookupOrThrow(path)
    if (node.type === 'dir') throw fsError('EISDIR', path)
    const writable = (flags & WRITE_FLAGS) !== 0
    if (!writable && node.upper && !node.origin) {
      return { path, fd: openSync(this.upperPath(path), flags & ~(C.O_CREAT | C.O_EXCL | C.O_TRUNC | C.O_APPEND)), writable }
    }
    if (!writable) return { path, lower: node.lower, writable }
    await this.copyUp(path, { empty: (flags & C.O_TRUNC) !== 0 })
    // The kernel gives every write its offset (appends included): the fd must not append on its own.
    return { path, fd: openSync(this.upperPath(path), flags & ~(C.O_CREAT | C.O_EXCL | C.O_APPEND)), writable }
  }

  /** Opens `path`, making it if it is not there (then owned by `owner`, see own). */
  async create(path: string, mode: number, flags: number, owner?: { uid: number; gid: number }): Promise<OvHandle> {
    if (!(flags & C.O_EXCL) && (await this.lookup(path))) return this.open(path, flags & ~C.O_CREAT)
    await this.prepareNew(path)
    const fd = openSync(this.upperPath(path), (flags | C.O_CREAT | C.O_EXCL) & ~(C.O_TRUNC | C.O_APPEND), mode & 0o7777)
    if (mode & PROCESS_UMASK) fchmodSync(fd, mode & 0o7777)
    if (owner) {
      try {
        await this.own(path, owner.uid, owner.gid)
      } catch (e) {
        closeSync(fd)
        throw e
      }
    }
    return { path, fd, writable: true }
  }

  async read(h: OvHandle, position: number, length: number): Promise<Uint8Array> {
    if (h.fd !== undefined) {
      const fd = h.fd
      const buf = Buffer.allocUnsafe(length)
      const n = length <= SYNC_IO_MAX
        ? readSync(fd, buf, 0, length, position)
        : await callback<number>((done) => readAsync(fd, buf, 0, length, position, done))
      return buf.subarray(0, n)
    }
    h.data ??= this.readLower(h.path, h.lower!)
    let data: Uint8Array
    try {
      data = await h.data
    } catch (e) {
      h.data = undefined
      throw e
    }
    return data.subarray(Math.min(position, data.length), Math.min(position + length, data.length))
  }

  async write(h: OvHandle, data: Uint8Array, position: number): Promise<number> {
    const fd = h.fd
    if (fd === undefined) throw fsError('EBADF', h.path)
    if (data.length <= SYNC_IO_MAX) return writeSync(fd, data, 0, data.length, position)
    return callback<number>((done) => writeAsync(fd, data, 0, data.length, position, done))
  }

  async fsync(h: OvHandle, dataOnly = false): Promise<void> {
    const fd = h.fd
    if (fd !== undefined) await callback<void>((done) => (dataOnly ? fdatasync : fsync)(fd, (err) => done(err, undefined)))
  }

  async release(h: OvHandle): Promise<void> {
    const fd = h.fd
    h.fd = undefined
    h.data = undefined
    if (fd !== undefined) closeSync(fd)
  }

  // ---- directory entries ---------------------------------------------------------------------

  async mkdir(path: string, mode: number): Promise<void> {
    const hadWhiteout = await this.prepareNew(path)
    const up = this.upperPath(path)
    mkdirSync(up, { mode: mode & 0o7777 })
    // mkdir(2) keeps the sticky bit and inherits set-group-ID; the caller's umask is applied already
    if (mode & PROCESS_UMASK) chmodSync(up, (mode & 0o1777) | (lstatSync(up).mode & S_ISGID))
    if (hadWhiteout || (await this.belowOf(path))) writeFileSync(join(this.upperPath(path), OPAQUE_MARKER), '')
    this.invalidate(path)
  }

  async symlink(target: string, path: string): Promise<void> {
    await this.prepareNew(path)
    await fsp.symlink(target, this.upperPath(path))
  }

  /** Regular files, FIFOs, devices and sockets (`rdev` as the kernel encodes it); see special_files.ts. */
  async mknod(path: string, mode: number, rdev = 0): Promise<void> {
    const fmt = mode & C.S_IFMT
    const perm = mode & 0o7777
    const known = [0, C.S_IFREG, C.S_IFIFO, C.S_IFCHR, C.S_IFBLK, C.S_IFSOCK]
    if (!known.includes(fmt)) throw fsError('EINVAL', `unknown file type ${fmt.toString(8)}: ${path}`)
    // The upper layer's own whiteout: a user cannot make one and see it as an entry.
    if (fmt === C.S_IFCHR && rdev === 0) throw fsError('EPERM', `a 0/0 character device marks a deleted entry here: ${path}`)
    await this.prepareNew(path)
    const up = this.upperPath(path)
    if (fmt === C.S_IFIFO) await makeFifo(up, perm)
    else if (fmt === C.S_IFCHR || fmt === C.S_IFBLK) await makeDevice(up, fmt === C.S_IFCHR ? 'c' : 'b', perm, rdev)
    else if (fmt === C.S_IFSOCK) await makeSocket(up, perm, this.tmp())
    else {
      const fd = openSync(up, C.O_CREAT | C.O_EXCL | C.O_WRONLY, perm)
      if (perm & PROCESS_UMASK) fchmodSync(fd, perm)
      closeSync(fd)
    }
  }

  async link(oldPath: string, newPath: string): Promise<void> {
    const src = await this.lookupOrThrow(oldPath)
    if (src.type === 'dir') throw fsError('EPERM', oldPath)
    await this.copyUp(oldPath)
    await this.prepareNew(newPath)
    await fsp.link(this.upperPath(oldPath), this.upperPath(newPath))
  }

  async unlink(path: string): Promise<void> {
    const node = await this.lookupOrThrow(path)
    if (node.type === 'dir') throw fsError('EISDIR', path)
    if (node.upper) unlinkSync(this.upperPath(path))
    this.origins.delete(path)
    await this.writeWhiteoutIfNeeded(path)
  }

  async rmdir(path: string): Promise<void> {
    if (path === '') throw fsError('EBUSY', '/')
    const node = await this.lookupOrThrow(path)
    if (node.type !== 'dir') throw fsError('ENOTDIR', path)
    if ((await this.readdir(path)).length > 0) throw fsError('ENOTEMPTY', path)
    if (node.upper) await fsp.rm(this.upperPath(path), { recursive: true })
    this.dropOrigins(path)
    this.invalidate(path)
    await this.writeWhiteoutIfNeeded(path)
  }

  private dropOrigins(path: string): void {
    const prefix = path + '/'
    for (const k of [...this.origins.keys()]) if (k === path || k.startsWith(prefix)) this.origins.delete(k)
  }

  private moveOrigins(from: string, to: string): void {
    const prefix = from + '/'
    const moved: [string, Origin][] = []
    for (const [k, v] of this.origins) {
      if (k === from) moved.push([to, v])
      else if (k.startsWith(prefix)) moved.push([to + k.slice(from.length), v])
    }
    this.dropOrigins(from)
    for (const [k, v] of moved) this.origins.set(k, v)
  }

  /**
   * Makes the entry at `path` self-contained in the upper without downloading contents: a lower
   * file becomes a metacopy, a lower directory an origin directory, a merged upper directory gets
   * the origin of what it merged with. Returns its upper path.
   */
  private async detach(node: OvNode): Promise<void> {
    const path = node.path
    if (node.upper) {
      if (node.type !== 'dir' || node.origin || node.opaque || !node.lower) return
      if (node.lower.oid && node.lower.kind === 'dir') {
        await setOrigin(this.upperPath(path), { mode: '40000', oid: node.lower.oid })
        this.origins.set(path, { mode: '40000', oid: node.lower.oid })
        this.invalidate(path)
        return
      }
      // A CL-made directory has no tree id: bring each entry beneath up (again metadata only).
      for (const d of await this.readdir(path)) {
        const child = (await this.lookup(joinPath(path, d.name)))!
        await this.detach(child)
      }
      await fsp.writeFile(join(this.upperPath(path), OPAQUE_MARKER), '')
      this.invalidate(path)
      return
    }
    const e = node.lower!
    if (node.type === 'symlink' || !e.oid || e.kind === 'submodule') {
      if (node.type === 'dir') {
        await this.ensureUpperDir(path)
        return this.detach((await this.lookup(path))!)
      }
      await this.copyUp(path)
      return
    }
    await this.ensureUpperDir(parentOf(path))
    const tmp = this.tmp()
    const t = this.lower.mtimeMs / 1000
    const origin: Origin = { mode: e.kind === 'dir' ? '40000' : e.mode ?? '100644', oid: e.oid }
    try {
      if (e.kind === 'dir') await fsp.mkdir(tmp, { mode: e.perm })
      else await fsp.writeFile(tmp, '', { mode: e.perm })
      await fsp.chmod(tmp, e.perm)
      await setOrigin(tmp, origin)
      await fsp.utimes(tmp, t, t)
      await fsp.rename(tmp, this.upperPath(path))
    } catch (err) {
      await fsp.rm(tmp, { recursive: true, force: true }).catch(() => {})
      throw err
    }
    this.origins.set(path, origin)
    this.invalidate(path)
    this.markUpperDir(parentOf(path))
  }

  async rename(oldPath: string, newPath: string, flags = 0): Promise<void> {
    if (oldPath === newPath) return
    if (newPath.startsWith(oldPath + '/')) throw fsError('EINVAL', `cannot move ${oldPath} into itself`)
    if (baseName(newPath).startsWith(WHITEOUT_PREFIX)) throw fsError('EINVAL', `reserved name ${newPath}`)
    const src = await this.lookupOrThrow(oldPath)
    const dst = await this.lookup(newPath)
    if (flags & RENAME_EXCHANGE) {
      if (!dst) throw fsError('ENOENT', newPath)
      return this.exchange(src, dst)
    }
    if (dst && flags & RENAME_NOREPLACE) throw fsError('EEXIST', newPath)
    if (dst) {
      if (src.type === 'dir' && dst.type !== 'dir') throw fsError('ENOTDIR', newPath)
      if (src.type !== 'dir' && dst.type === 'dir') throw fsError('EISDIR', newPath)
      if (dst.type === 'dir' && (await this.readdir(newPath)).length > 0) throw fsError('ENOTEMPTY', newPath)
    }
    await this.detach(src)
    const node = (await this.lookup(oldPath))!
    await this.ensureUpperDir(parentOf(newPath))
    await this.dropWhiteout(newPath)
    if (dst?.upper && dst.type === 'dir') await fsp.rm(this.upperPath(newPath), { recursive: true })
    const needsOpaque = node.type === 'dir' && !node.origin && !node.opaque && (await this.belowOf(newPath)) !== undefined
    if (needsOpaque) await fsp.writeFile(join(this.upperPath(oldPath), OPAQUE_MARKER), '')
    await fsp.rename(this.upperPath(oldPath), this.upperPath(newPath))
    this.dropOrigins(newPath)
    this.moveOrigins(oldPath, newPath)
    this.invalidate(oldPath)
    this.invalidate(newPath)
    await this.writeWhiteoutIfNeeded(oldPath)
  }

  private async exchange(a: OvNode, b: OvNode): Promise<void> {
    await this.detach(a)
    await this.detach(b)
    const tmp = this.tmp()
    const pa = this.upperPath(a.path)
    const pb = this.upperPath(b.path)
    await fsp.rename(pa, tmp)
    await fsp.rename(pb, pa)
    await fsp.rename(tmp, pb)
    const oa = this.origins
    const swapped = new Map<string, Origin>()
    for (const [k, v] of oa) {
      if (k === a.path || k.startsWith(a.path + '/')) swapped.set(b.path + k.slice(a.path.length), v)
      else if (k === b.path || k.startsWith(b.path + '/')) swapped.set(a.path + k.slice(b.path.length), v)
      else swapped.set(k, v)
    }
    this.origins = swapped
    // A merged directory must not start merging with what lies beneath its new place.
    for (const p of [a.path, b.path]) {
      const n = await this.lookup(p)
      if (n?.type === 'dir' && !n.origin && !n.opaque && n.lower) await fsp.writeFile(join(this.upperPath(p), OPAQUE_MARKER), '')
    }
    this.invalidate(a.path)
    this.invalidate(b.path)
  }

  // ---- attributes -----------------------------------------------------------------------------

  async setattr(path: string, a: SetAttr, h?: OvHandle): Promise<void> {
    const node = await this.lookupOrThrow(path)
    if (a.size !== undefined) {
      if (node.type === 'dir') throw fsError('EISDIR', path)
      if (h?.fd !== undefined && h.writable) ftruncateSync(h.fd, a.size)
      else {
        await this.copyUp(path, { empty: a.size === 0 })
        await fsp.truncate(this.upperPath(path), a.size)
      }
    }
    const meta = a.mode !== undefined || a.uid !== undefined || a.gid !== undefined || a.atimeMs !== undefined || a.mtimeMs !== undefined
    if (!meta) return
    // A metacopy keeps standing for its blob: only its metadata changes, nothing is downloaded.
    if (!node.upper && node.type === 'file' && node.lower?.oid) await this.detach(node)
    else if (!node.upper || (node.type !== 'file' && node.type !== 'dir')) await this.copyUp(path)
    const up = this.upperPath(path)
    if (a.mode !== undefined && node.type !== 'symlink') await fsp.chmod(up, a.mode & 0o7777)
    if (a.uid !== undefined || a.gid !== undefined) await fsp.lchown(up, a.uid ?? -1, a.gid ?? -1)
    if (a.atimeMs !== undefined || a.mtimeMs !== undefined) {
      const st = await fsp.lstat(up)
      await fsp.lutimes(up, (a.atimeMs ?? st.atimeMs) / 1000, (a.mtimeMs ?? st.mtimeMs) / 1000)
    }
  }

  /**
   * Clears set-user-ID, and set-group-ID of a group-executable file, after a write, truncate or
   * open(O_TRUNC) by a user without CAP_FSETID: the kernel leaves it to us (HANDLE_KILLPRIV_V2 in
   * lib/fuse), and the upper file was written by this process, which keeps them.
   */
  killSuidgid(path: string, h?: OvHandle): void {
    const fd = h?.fd
    const st = fd !== undefined ? fstatSync(fd) : lstatOrUndef(this.upperPath(path))
    if (!st?.isFile()) return
    const old = st.mode & 0o7777
    const mode = old & ~S_ISUID & ~(old & 0o010 ? S_ISGID : 0)
    if (mode === old) return
    if (fd !== undefined) fchmodSync(fd, mode)
    else chmodSync(this.upperPath(path), mode)
  }

  /**
   * Gives a new entry to the user who made it (mounts shared with --allow-other): its owner is the
   * caller, its group the caller's or, under a set-group-ID directory, the directory's. Only a root
   * daemon can do this; others own everything they serve anyway. chown drops set-ID bits, which the
   * creator asked for: they are put back.
   */
  async own(path: string, uid: number, gid: number): Promise<void> {
    if (process.getuid?.() !== 0) return
    const up = this.upperPath(path)
    const parent = await fsp.stat(dirname(up))
    const group = parent.mode & S_ISGID ? parent.gid : gid
    const st = await fsp.lstat(up)
    if (st.uid === uid && st.gid === group) return
    await fsp.lchown(up, uid, group)
    if (st.mode & (S_ISUID | S_ISGID) && !st.isSymbolicLink()) await fsp.chmod(up, st.mode & 0o7777)
    this.invalidate(path)
  }

  // ---- xattrs (user-visible ones; user.scorpio.* is ours and hidden) --------------------------

  async getxattr(path: string, name: string): Promise<Uint8Array> {
    const node = await this.lookupOrThrow(path)
    if (isPrivateXattr(name) || !node.upper || !name.startsWith('user.') || node.type === 'symlink') throw fsError('ENODATA', name)
    const all = await getXattrs(this.upperPath(path), '^' + name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&') + '$')
    const v = all.get(name)
    if (!v) throw fsError('ENODATA', name)
    return v
  }

  async listxattr(path: string): Promise<string[]> {
    const node = await this.lookupOrThrow(path)
    if (!node.upper || node.type === 'symlink') return []
    return [...(await getXattrs(this.upperPath(path))).keys()].filter((n) => !isPrivateXattr(n))
  }

  async setxattr(path: string, name: string, value: Uint8Array, flags = 0): Promise<void> {
    if (isPrivateXattr(name)) throw fsError('EPERM', `${name} is reserved`)
    if (!name.startsWith('user.')) throw fsError('ENOTSUP', name)
    const node = await this.lookupOrThrow(path)
    if (flags & 3) {
      const exists = node.upper && (await this.getxattr(path, name).then(() => true, () => false))
      if (flags & 1 && exists) throw fsError('EEXIST', name) // XATTR_CREATE
      if (flags & 2 && !exists) throw fsError('ENODATA', name) // XATTR_REPLACE
    }
    if (!node.upper) await this.copyUp(path)
    await setXattr(this.upperPath(path), name, value)
  }

  async removexattr(path: string, name: string): Promise<void> {
    if (isPrivateXattr(name) || !name.startsWith('user.')) throw fsError('ENODATA', name)
    const node = await this.lookupOrThrow(path)
    if (!node.upper) throw fsError('ENODATA', name)
    await removeXattr(this.upperPath(path), name)
  }

  async statfs(): Promise<{ bsize: number; blocks: number; bfree: number; bavail: number; files: number; ffree: number; namelen: number }> {
    try {
      const s = await fsp.statfs(this.upperDir)
      return { bsize: s.bsize, blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, namelen: 255 }
    } catch {
      return { bsize: 4096, blocks: 1 << 30, bfree: 1 << 29, bavail: 1 << 29, files: 1 << 24, ffree: 1 << 23, namelen: 255 }
    }
  }
}
