// lib/vfs: the overlay as a RawFileSystem. Maps kernel inodes to workspace paths, keeps lookup
// counts, hands out file and directory handles, and tells the kernel what may be cached: lower
// entries never change for a base commit (long timeouts + keep_cache), upper ones may (short).
import { constants as C } from 'node:fs'
import type * as R from '../fuse/raw_fs.ts'
import { FuseError } from '../fuse/errors.ts'
import type { FuseMount } from '../fuse/mount_types.ts'
import type { LowerView } from '../lower/types.ts'
import type { Overlay, OvHandle } from '../overlay/overlay.ts'
import type { Attr as OvAttr, DirEntry, OvNode } from '../overlay/core.ts'
import { isPrivateXattr } from '../overlay/xattr.ts'
import { InodeTable, parentPath, ROOT_INO, type Inode } from './inodes.ts'

export interface VfsOptions {
  overlay: Overlay
  log?: (line: string) => void
  /** Seconds the kernel may cache lower entries and attributes (default 3600). */
  lowerTimeout?: number
  /** Seconds for upper (changeable) entries (default 1). */
  upperTimeout?: number
}

export interface Vfs {
  fs: R.RawFileSystem
  /** Lets the VFS send invalidations through the live mount. */
  attach(mount: FuseMount): void
  /**
   * Moves the base (commit, checkout): swaps the lower view and invalidates what changed in the
   * kernel. `changedPaths` (workspace paths, '' = root) limits the invalidation; omitted = all.
   * Also call it (with the same lower) after changing the upper dir from outside the FUSE requests.
   */
  switchBase(lower: LowerView, changedPaths?: Iterable<string>): Promise<void>
  readonly inodes: InodeTable
}

type Handle = { file: OvHandle; ino: number } | { dir: DirEntry[]; path: string }

const DT: Record<string, number> = { file: C.S_IFREG, dir: C.S_IFDIR, symlink: C.S_IFLNK, other: 0 }

function toFuseAttr(ino: number, a: OvAttr): R.Attr {
  const s = (ms: number) => Math.floor(ms / 1000)
  const ns = (ms: number) => Math.floor((ms % 1000) * 1e6)
  return {
    ino, mode: a.mode, size: a.size, blocks: a.blocks, nlink: a.nlink, uid: a.uid, gid: a.gid, rdev: a.rdev,
    blksize: a.blksize, atime: s(a.atimeMs), atimensec: ns(a.atimeMs), mtime: s(a.mtimeMs), mtimensec: ns(a.mtimeMs),
    ctime: s(a.ctimeMs), ctimensec: ns(a.ctimeMs),
  }
}

function join(dir: string, name: string): string {
  if (name === '' || name === '.' || name === '..' || name.includes('/')) throw new FuseError('EINVAL', `bad name ${name}`)
  return dir === '' ? name : `${dir}/${name}`
}

export function createVfs(options: VfsOptions): Vfs {
  const ov = options.overlay
  const log = options.log ?? ((l: string) => process.stderr.write(l + '\n'))
  const lowerT = options.lowerTimeout ?? 3600
  const upperT = options.upperTimeout ?? 1
  const table = new InodeTable()
  const handles = new Map<number, Handle>()
  let nextFh = 1
  let mount: FuseMount | undefined

  const inode = (ino: number): Inode => {
    const n = table.get(ino)
    if (!n) throw new FuseError('ESTALE', `unknown inode ${ino}`)
    return n
  }
  const livePath = (ino: number): string => {
    const n = inode(ino)
    if (n.detached) throw new FuseError('ENOENT', `/${n.path} was removed`)
    return n.path
  }
  const timeout = (node: OvNode) => (node.upper ? upperT : lowerT)

  async function resolve(path: string): Promise<{ node: OvNode; attr: OvAttr }> {
    const node = await ov.lookup(path)
    if (!node) throw new FuseError('ENOENT', `/${path}`)
    return { node, attr: await ov.getattr(node) }
  }

  /** Builds the entry reply and takes the kernel reference in one synchronous step. */
  function entryFor(path: string, node: OvNode, attr: OvAttr): R.EntryOut {
    const n = table.ref(path)
    const fattr = toFuseAttr(n.ino, attr)
    n.lastAttr = fattr
    const t = timeout(node)
    return { nodeid: n.ino, entryValid: t, attrValid: t, attr: fattr }
  }

  async function entryAfterChange(path: string): Promise<R.EntryOut> {
    const { node, attr } = await resolve(path)
    return entryFor(path, node, attr)
  }

  function addHandle(h: Handle): number {
    const fh = nextFh++
    handles.set(fh, h)
    return fh
  }
  function fileHandle(fh: number | undefined): OvHandle | undefined {
    const h = fh === undefined ? undefined : handles.get(fh)
    return h && 'file' in h ? h.file : undefined
  }

  const fs: R.RawFileSystem = {
    async destroy() {
      // The kernel sends no RELEASE for files still open when the mount goes away.
      const open = [...handles.values()]
      handles.clear()
      for (const h of open) if ('file' in h) await ov.release(h.file).catch(() => {})
    },

    async lookup(_ctx, { parent, name }) {
      const path = join(livePath(parent), name)
      const { node, attr } = await resolve(path)
      return entryFor(path, node, attr)
    },

    forget(_ctx, { ino, nlookup }) {
      table.forget(ino, nlookup)
    },

    batchForget(_ctx, { items }) {
      for (const it of items) table.forget(it.ino, it.nlookup)
    },

    async getattr(_ctx, { ino, fh }) {
      const n = inode(ino)
      if (n.detached) {
        let h = fileHandle(fh)
        if (!h) for (const x of handles.values()) if ('file' in x && x.ino === ino && x.file.fd) h = x.file
        if (h?.fd) {
          const st = await h.fd.stat()
          return { attrValid: 0, attr: toFuseAttr(ino, { ...st, blksize: 4096 }) }
        }
        if (n.lastAttr) return { attrValid: 0, attr: n.lastAttr }
        throw new FuseError('ENOENT')
      }
      const { node, attr } = await resolve(n.path)
      n.lastAttr = toFuseAttr(ino, attr)
      return { attrValid: timeout(node), attr: n.lastAttr }
    },

    async setattr(_ctx, a) {
      const path = livePath(a.ino)
      const now = Date.now()
      const ms = (s?: number, ns?: number) => (s === undefined ? undefined : s * 1000 + Math.floor((ns ?? 0) / 1e6))
      await ov.setattr(
        path,
        {
          size: a.size,
          mode: a.mode,
          uid: a.uid,
          gid: a.gid,
          atimeMs: a.atimeNow ? now : ms(a.atime, a.atimensec),
          mtimeMs: a.mtimeNow ? now : ms(a.mtime, a.mtimensec),
        },
        fileHandle(a.fh),
      )
      const { node, attr } = await resolve(path)
      const n = inode(a.ino)
      n.lastAttr = toFuseAttr(a.ino, attr)
      return { attrValid: timeout(node), attr: n.lastAttr }
    },

    async readlink(_ctx, { ino }) {
      return ov.readlink(livePath(ino))
    },

    async symlink(_ctx, { parent, name, target }) {
      const path = join(livePath(parent), name)
      await ov.symlink(target, path)
      return entryAfterChange(path)
    },

    async mknod(_ctx, { parent, name, mode, umask }) {
      const path = join(livePath(parent), name)
      await ov.mknod(path, (mode & C.S_IFMT) | (mode & 0o7777 & ~umask))
      return entryAfterChange(path)
    },

    async mkdir(_ctx, { parent, name, mode, umask }) {
      const path = join(livePath(parent), name)
      await ov.mkdir(path, mode & 0o7777 & ~umask)
      return entryAfterChange(path)
    },

    async unlink(_ctx, { parent, name }) {
      const path = join(livePath(parent), name)
      await ov.unlink(path)
      table.detach(path)
    },

    async rmdir(_ctx, { parent, name }) {
      const path = join(livePath(parent), name)
      await ov.rmdir(path)
      table.detach(path)
    },

    async rename(_ctx, { parent, name, newParent, newName, flags }) {
      if (flags & ~3) throw new FuseError('EINVAL', 'RENAME_WHITEOUT is not supported')
      const from = join(livePath(parent), name)
      const to = join(livePath(newParent), newName)
      await ov.rename(from, to, flags)
      if (from === to) return
      if (flags & 2) table.exchange(from, to)
      else {
        table.detach(to)
        table.move(from, to)
      }
    },

    async link(_ctx, { ino, newParent, newName }) {
      const from = livePath(ino)
      const to = join(livePath(newParent), newName)
      await ov.link(from, to)
      return entryAfterChange(to)
    },

    async open(_ctx, { ino, flags }) {
      const path = livePath(ino)
      const h = await ov.open(path, flags)
      const fh = addHandle({ file: h, ino })
      // Lower contents never change for a base commit: keep the page cache across opens.
      return { fh, keepCache: !h.fd }
    },

    async create(_ctx, { parent, name, mode, umask, flags }) {
      const path = join(livePath(parent), name)
      const h = await ov.create(path, mode & 0o7777 & ~umask, flags)
      try {
        const entry = await entryAfterChange(path)
        return { entry, open: { fh: addHandle({ file: h, ino: entry.nodeid }) } }
      } catch (e) {
        await ov.release(h)
        throw e
      }
    },

    async read(_ctx, { fh, offset, size }) {
      const h = fileHandle(fh)
      if (!h) throw new FuseError('EBADF')
      return ov.read(h, offset, size)
    },

    async write(_ctx, { fh, offset, data }) {
      const h = fileHandle(fh)
      if (!h) throw new FuseError('EBADF')
      return { size: await ov.write(h, data, offset) }
    },

    async flush() {},

    async fsync(_ctx, { fh, datasync }) {
      const h = fileHandle(fh)
      if (h) await ov.fsync(h, datasync)
    },

    async release(_ctx, { fh }) {
      const h = handles.get(fh)
      handles.delete(fh)
      if (h && 'file' in h) await ov.release(h.file)
    },

    async statfs() {
      const s = await ov.statfs()
      return { blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize, namelen: s.namelen, frsize: s.bsize }
    },

    async opendir(_ctx, { ino }) {
      const path = livePath(ino)
      const [entries, found] = await Promise.all([ov.readdir(path), resolve(path)])
      // A directory with nothing in the upper layer lists exactly its tree, which never changes for
      // this base: the kernel may keep the listing (switchBase invalidates it when the base moves).
      const lowerOnly = !found.node.upper
      return { fh: addHandle({ dir: entries, path }), cacheDir: lowerOnly, keepCache: lowerOnly }
    },

    async readdir(_ctx, { ino, fh, offset }, out) {
      const h = handles.get(fh)
      if (!h || !('dir' in h)) throw new FuseError('EBADF')
      const all = h.dir
      const total = all.length + 2
      for (let i = offset; i < total; i++) {
        let d: R.Dirent
        if (i === 0) d = { ino, off: 1, type: C.S_IFDIR, name: '.' }
        else if (i === 1) d = { ino: h.path === '' ? ROOT_INO : table.peekIno(parentPath(h.path)), off: 2, type: C.S_IFDIR, name: '..' }
        else {
          const e = all[i - 2]
          d = { ino: table.peekIno(h.path === '' ? e.name : `${h.path}/${e.name}`), off: i + 1, type: DT[e.type], name: e.name }
        }
        if (!out.add(d)) break
      }
    },

    async readdirplus(_ctx, { ino, fh, offset }, out) {
      const h = handles.get(fh)
      if (!h || !('dir' in h)) throw new FuseError('EBADF')
      const all = h.dir
      const total = all.length + 2
      for (let i = offset; i < total; i++) {
        if (i < 2) {
          const dot: R.DirentPlus = { off: i + 1, name: i === 0 ? '.' : '..', type: C.S_IFDIR, entry: { nodeid: 0, attr: { ino, mode: C.S_IFDIR } } }
          if (!out.add(dot)) break
          continue
        }
        const e = all[i - 2]
        const path = h.path === '' ? e.name : `${h.path}/${e.name}`
        let found: { node: OvNode; attr: OvAttr } | undefined
        try {
          found = await resolve(path)
        } catch {
          found = undefined // gone since OPENDIR: send the name only
        }
        if (!found) {
          if (!out.add({ off: i + 1, name: e.name, type: DT[e.type], entry: { nodeid: 0, attr: { ino: table.peekIno(path), mode: DT[e.type] } } })) break
          continue
        }
        // The reference is taken and the entry built in one synchronous step; given back if it did not fit.
        const entry = entryFor(path, found.node, found.attr)
        if (!out.add({ off: i + 1, name: e.name, type: found.attr.mode & C.S_IFMT, entry })) {
          table.forget(entry.nodeid, 1)
          break
        }
      }
    },

    async releasedir(_ctx, { fh }) {
      handles.delete(fh)
    },

    async fsyncdir() {},

    async getxattr(_ctx, { ino, name }) {
      if (isPrivateXattr(name) || !name.startsWith('user.')) throw new FuseError('ENODATA')
      return ov.getxattr(livePath(ino), name)
    },

    async listxattr(_ctx, { ino }) {
      return ov.listxattr(livePath(ino))
    },

    async setxattr(_ctx, { ino, name, value, flags }) {
      await ov.setxattr(livePath(ino), name, new Uint8Array(value), flags)
    },

    async removexattr(_ctx, { ino, name }) {
      await ov.removexattr(livePath(ino), name)
    },
  }

  async function switchBase(lower: LowerView, changedPaths?: Iterable<string>): Promise<void> {
    ov.switchLower(lower)
    const before = new Map(table.byPath)
    const paths = changedPaths ? [...changedPaths] : [...before.keys()].filter((p) => p !== '')
    const notes: Promise<void>[] = []
    const inval = (p: Promise<void>) => notes.push(p.catch((e) => log(`scorpio: invalidation failed: ${e?.message ?? e}`)))
    const touchedDirs = new Set<string>()
    for (const raw of paths) {
      const path = raw.replace(/^\/+|\/+$/g, '')
      if (path === '') continue
      const parent = parentPath(path)
      touchedDirs.add(parent)
      const name = path.slice(path.lastIndexOf('/') + 1)
      // Everything at and beneath a changed path gets a fresh inode on its next lookup.
      if (changedPaths) {
        const prefix = path + '/'
        for (const [p, n] of [...table.byPath]) {
          if (p !== path && !p.startsWith(prefix)) continue
          table.detach(p)
          if (mount) inval(mount.notifyInvalInode(n.ino, 0, 0))
        }
      } else {
        const n = table.detach(path)
        if (mount && n) inval(mount.notifyInvalInode(n.ino, 0, 0))
      }
      const pn = before.get(parent)
      if (mount && pn) inval(mount.notifyInvalEntry(pn.ino, name))
    }
    for (const d of touchedDirs) {
      const n = before.get(d)
      if (mount && n) inval(mount.notifyInvalInode(n.ino, -1, 0))
    }
    await Promise.all(notes)
  }

  return {
    fs,
    attach(m) {
      mount = m
    },
    switchBase,
    inodes: table,
  }
}
