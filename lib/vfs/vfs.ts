// lib/vfs: the overlay as a RawFileSystem. Maps kernel inodes to workspace paths, keeps lookup
// counts, hands out file handles, and tells the kernel what may be cached: lower entries never
// change for a base commit (long timeouts + keep_cache), upper ones may (short); every directory
// listing is kept by the kernel (no OPENDIR, see readdir) until a change invalidates it.
import { constants as C, fstatSync } from 'node:fs'
import type * as R from '../fuse/raw_fs.ts'
import { FuseError } from '../fuse/errors.ts'
import type { FuseMount } from '../fuse/mount_types.ts'
import type { LowerView } from '../lower/types.ts'
import type { Overlay, OvHandle } from '../overlay/overlay.ts'
import type { Attr as OvAttr, DirEntry, OvNode } from '../overlay/core.ts'
import { isPrivateXattr } from '../overlay/xattr.ts'
import { InodeTable, parentPath, ROOT_INO } from './inodes.ts'
import { LRUCache } from 'lru-cache'

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

type Handle = { file: OvHandle; ino: number }
type Listing = { path: string; entries: DirEntry[]; base: number }
/** Directories whose listing is kept between the chunks of one READDIR pass. */
const MAX_LISTINGS = 256

const DT: Record<string, number> = { file: C.S_IFREG, dir: C.S_IFDIR, symlink: C.S_IFLNK, other: 0 }

/** fuse.h: FUSE_OPEN_KILL_SUIDGID, FUSE_WRITE_KILL_SUIDGID (see killSuidgid in the overlay). */
const OPEN_KILL_SUIDGID = 1
const WRITE_KILL_SUIDGID = 4

const NO_ATTR: R.Attr = { ino: 0, mode: 0, size: 0, nlink: 0 }
const s = (ms: number) => Math.floor(ms / 1000)
const ns = (ms: number) => Math.floor((ms % 1000) * 1e6)

function toFuseAttr(ino: number, a: OvAttr): R.Attr {
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
  const listings = new Map<number, Listing>()
  /** Base moves so far (switchBase). */
  let bases = 0
  let nextFh = 1
  let mount: FuseMount | undefined

  /** The inode's path; throws for an unknown inode. */
  const pathOf = (ino: number): string => {
    const p = table.path(ino)
    if (p === undefined) throw new FuseError('ESTALE', `unknown inode ${ino}`)
    return p
  }
  const livePath = (ino: number): string => {
    const p = pathOf(ino)
    if (table.isDetached(ino)) throw new FuseError('ENOENT', `/${p} was removed`)
    return p
  }
  const timeout = (node: OvNode) => (node.upper ? upperT : lowerT)

  async function resolve(path: string): Promise<{ node: OvNode; attr: OvAttr }> {
    const node = await ov.lookup(path)
    if (!node) throw new FuseError('ENOENT', `/${path}`)
    return { node, attr: await ov.getattr(node) }
  }

  /** Hard-linked upper files (nlink > 1): the upper inode number → the kernel id of the file, and
   *  back. Every name of such a file is answered with that one id (see InodeTable.linkAs). */
  const linkedIds = new Map<number, number>()
  const linkedUpper = new Map<number, number>()

  /**
   * Upper inode number → the id of an entry that was renamed. Ids are a hash of the path, and the
   * kernel may forget an entry at any time: looked up again at its new path, it gets back the id it
   * had (tools compare inode numbers across a rename). Bounded; a stale one is only a preference.
   */
  const movedIds = new LRUCache<number, number>({ max: 65536 })

  /** The id for `path`, taking one kernel reference. */
  function idFor(path: string, attr: OvAttr, dir?: string, name?: string): number {
    const up = attr.upperIno
    if (up === undefined || attr.nlink < 2 || (attr.mode & C.S_IFMT) === C.S_IFDIR) {
      const moved = up !== undefined && movedIds.size > 0 ? movedIds.get(up) : undefined
      return dir === undefined ? table.ref(path, moved) : table.refIn(dir, name!, path, moved)
    }
    const known = linkedIds.get(up)
    if (known !== undefined && table.has(known) && !table.isDetached(known)) return table.linkAs(path, known)
    const ino = table.ref(path)
    linkedIds.set(up, ino)
    linkedUpper.set(ino, up)
    return ino
  }

  function forgotten(ino: number): void {
    const up = linkedUpper.get(ino)
    if (up === undefined || table.has(ino)) return
    linkedUpper.delete(ino)
    if (linkedIds.get(up) === ino) linkedIds.delete(up)
  }

  /** Builds the entry reply and takes the kernel reference in one synchronous step. */
  function entryFor(path: string, node: OvNode, attr: OvAttr, dir?: string, name?: string): R.EntryOut {
    const ino = idFor(path, attr, dir, name)
    const fattr = toFuseAttr(ino, attr)
    table.remember(ino, fattr)
    const t = timeout(node)
    return { nodeid: ino, entryValid: t, attrValid: t, attr: fattr, stable: !node.upper }
  }

  /**
   * A name that is not there: a negative entry the kernel keeps as long as the directory's own,
   * so that build tools probing include paths or modules ask once. A name can only appear through
   * this mount (the kernel then drops the negative entry itself) or through switchBase, which
   * invalidates every changed name and every changed directory with all its entries.
   */
  async function absent(dir: string, path: string): Promise<R.EntryOut> {
    const d = await ov.lookup(dir)
    if (!d || d.type !== 'dir') throw new FuseError('ENOENT', `/${path}`)
    return { nodeid: 0, entryValid: timeout(d), attrValid: 0, attr: NO_ATTR }
  }

  async function entryAfterChange(path: string): Promise<R.EntryOut> {
    const { node, attr } = await resolve(path)
    return entryFor(path, node, attr)
  }

  /**
   * A directory's listing for READDIR(PLUS) at `offset`: read afresh at offset 0, reused for the
   * following chunks of the same pass (a pass ends with the chunk that reaches the end), so a big
   * directory is listed once per pass, not once per reply.
   */
  function listing(ino: number, offset: number): Listing | Promise<Listing> {
    const cached = offset > 0 ? listings.get(ino) : undefined
    if (cached) return cached
    const path = pathOf(ino)
    const base = bases
    if (table.isDetached(ino)) return { path, entries: [], base }
    // A lower directory in memory is listed at once; anything else through the overlay's layers.
    const now = ov.readdirCached(path)
    return now ? { path, entries: now, base } : ov.readdir(path).then((entries) => ({ path, entries, base }))
  }

  /** After a chunk: the listing is kept for the next chunk of the pass, dropped at its end. */
  function keep(ino: number, l: Listing, atEnd: boolean): void {
    listings.delete(ino)
    // Not across a base move (switchBase): that listing may be stale.
    if (atEnd || l.base !== bases) return
    listings.set(ino, l)
    if (listings.size > MAX_LISTINGS) listings.delete(listings.keys().next().value!)
  }

  /** After a READDIR(PLUS) chunk: a lower-only directory's end never moves until a change. */
  function end(ino: number, path: string, atEnd: boolean): R.DirEnd | Promise<R.DirEnd> {
    if (!atEnd) return { end: false }
    const known = ov.lookupCached(path)
    if (known === undefined) return ov.lookup(path).then((dir) => ended(ino, dir))
    return ended(ino, known ?? undefined)
  }

  function ended(ino: number, dir: OvNode | undefined): R.DirEnd {
    return { end: true, stable: dir !== undefined && !dir.upper && table.has(ino) && !table.isDetached(ino) }
  }

  function addHandle(h: Handle): number {
    const fh = nextFh++
    handles.set(fh, h)
    return fh
  }
  function fileHandle(fh: number | undefined): OvHandle | undefined {
    const h = fh === undefined ? undefined : handles.get(fh)
    return h?.file
  }

  const fs: R.RawFileSystem = {
    async destroy() {
      // The kernel sends no RELEASE for files still open when the mount goes away.
      const open = [...handles.values()]
      handles.clear()
      for (const h of open) await ov.release(h.file).catch(() => {})
    },

    async lookup(_ctx, { parent, name }) {
      const dir = livePath(parent)
      const path = join(dir, name)
      const node = await ov.lookup(path)
      if (!node) return absent(dir, path)
      return entryFor(path, node, await ov.getattr(node))
    },

    forget(_ctx, { ino, nlookup }) {
      table.forget(ino, nlookup)
      if (linkedUpper.size) forgotten(ino)
    },

    batchForget(_ctx, { items }) {
      for (const it of items) {
        table.forget(it.ino, it.nlookup)
        if (linkedUpper.size) forgotten(it.ino)
      }
    },

    async getattr(_ctx, { ino, fh }) {
      const path = pathOf(ino)
      if (table.isDetached(ino)) {
        let h = fileHandle(fh)
        if (!h) for (const x of handles.values()) if (x.ino === ino && x.file.fd !== undefined) h = x.file
        if (h?.fd !== undefined) {
          const st = fstatSync(h.fd)
          return { attrValid: 0, attr: toFuseAttr(ino, { ...st, blksize: 4096 }) }
        }
        const last = table.lastAttr(ino)
        if (last) return { attrValid: 0, attr: last }
        throw new FuseError('ENOENT')
      }
      const { node, attr } = await resolve(path)
      const fattr = toFuseAttr(ino, attr)
      table.remember(ino, fattr)
      return { attrValid: timeout(node), attr: fattr, stable: !node.upper }
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
      if (a.killSuidgid) ov.killSuidgid(path, fileHandle(a.fh))
      const { node, attr } = await resolve(path)
      pathOf(a.ino)
      const fattr = toFuseAttr(a.ino, attr)
      table.remember(a.ino, fattr)
      return { attrValid: timeout(node), attr: fattr }
    },

    async readlink(_ctx, { ino }) {
      return ov.readlink(livePath(ino))
    },

    async symlink(ctx, { parent, name, target }) {
      const path = join(livePath(parent), name)
      await ov.symlink(target, path)
      await ov.own(path, ctx.uid, ctx.gid)
      return entryAfterChange(path)
    },

    async mknod(ctx, { parent, name, mode, rdev, umask }) {
      const path = join(livePath(parent), name)
      await ov.mknod(path, (mode & C.S_IFMT) | (mode & 0o7777 & ~umask), rdev)
      await ov.own(path, ctx.uid, ctx.gid)
      return entryAfterChange(path)
    },

    async mkdir(ctx, { parent, name, mode, umask }) {
      const path = join(livePath(parent), name)
      await ov.mkdir(path, mode & 0o7777 & ~umask)
      await ov.own(path, ctx.uid, ctx.gid)
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
      for (const p of flags & 2 ? [from, to] : [to]) {
        const id = table.lookup(p)
        const up = id === undefined ? undefined : ov.upperIno(p)
        if (up !== undefined) movedIds.set(up, id!)
      }
    },

    async link(_ctx, { ino, newParent, newName }) {
      const from = livePath(ino)
      const to = join(livePath(newParent), newName)
      await ov.link(from, to)
      const { node, attr } = await resolve(to)
      // The new name is the same kernel inode as the old one (nlink and changes seen through both).
      if (attr.upperIno !== undefined && !table.isDetached(ino)) {
        const old = linkedUpper.get(ino)
        if (old !== undefined) linkedIds.delete(old)
        linkedIds.set(attr.upperIno, ino)
        linkedUpper.set(ino, attr.upperIno)
      }
      return entryFor(to, node, attr)
    },

    async open(_ctx, { ino, flags, openFlags }) {
      const path = livePath(ino)
      const h = await ov.open(path, flags)
      if (openFlags & OPEN_KILL_SUIDGID) ov.killSuidgid(path, h)
      const fh = addHandle({ file: h, ino })
      // Lower contents never change for a base commit: keep the page cache across opens.
      return { fh, keepCache: h.fd === undefined }
    },

    async create(ctx, { parent, name, mode, umask, flags }) {
      const path = join(livePath(parent), name)
      const h = await ov.create(path, mode & 0o7777 & ~umask, flags, { uid: ctx.uid, gid: ctx.gid })
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

    async write(_ctx, { fh, offset, data, writeFlags }) {
      const h = fileHandle(fh)
      if (!h) throw new FuseError('EBADF')
      if (writeFlags & WRITE_KILL_SUIDGID) ov.killSuidgid(h.path, h)
      return { size: await ov.write(h, data, offset) }
    },

    // No FLUSH: writes go straight to the upper file, so there is nothing to flush at close;
    // after one ENOSYS the kernel stops sending it, a round trip less per close().

    async fsync(_ctx, { fh, datasync }) {
      const h = fileHandle(fh)
      if (h) await ov.fsync(h, datasync)
    },

    async release(_ctx, { fh }) {
      const h = handles.get(fh)
      handles.delete(fh)
      if (h) await ov.release(h.file)
    },

    async statfs() {
      const s = await ov.statfs()
      return { blocks: s.blocks, bfree: s.bfree, bavail: s.bavail, files: s.files, ffree: s.ffree, bsize: s.bsize, namelen: s.namelen, frsize: s.bsize }
    },

    // No OPENDIR/RELEASEDIR: the first OPENDIR is answered ENOSYS (no method), after which the
    // kernel sends none, opens every directory with FOPEN_KEEP_CACHE | FOPEN_CACHE_DIR and keeps
    // its listings. Changes made through the mount reset that cache in the kernel itself; changes
    // made behind its back (checkout, commit, discard) go through switchBase, which invalidates the
    // directories concerned. READDIR(PLUS) is therefore stateless (fh 0): by inode and offset.
    async readdir(_ctx, { ino, offset }, out) {
      const got = listing(ino, offset)
      const l = got instanceof Promise ? await got : got
      const { path, entries } = l
      const total = entries.length + 2
      let i = offset
      for (; i < total; i++) {
        let d: R.Dirent
        if (i === 0) d = { ino, off: 1, type: C.S_IFDIR, name: '.' }
        else if (i === 1) d = { ino: path === '' ? ROOT_INO : table.peekIno(parentPath(path)), off: 2, type: C.S_IFDIR, name: '..' }
        else {
          const e = entries[i - 2]
          d = { ino: table.peekIno(path === '' ? e.name : `${path}/${e.name}`), off: i + 1, type: DT[e.type], name: e.name }
        }
        if (!out.add(d)) break
      }
      keep(ino, l, i >= total)
      return end(ino, path, i >= total)
    },

    async readdirplus(_ctx, { ino, offset }, out) {
      const got = listing(ino, offset)
      const l = got instanceof Promise ? await got : got
      const { path, entries } = l
      const total = entries.length + 2
      let i = offset
      for (; i < total; i++) {
        if (i < 2) {
          const dot: R.DirentPlus = { off: i + 1, name: i === 0 ? '.' : '..', type: C.S_IFDIR, entry: { nodeid: 0, attr: { ino, mode: C.S_IFDIR } } }
          if (!out.add(dot)) break
          continue
        }
        const e = entries[i - 2]
        const child = path === '' ? e.name : `${path}/${e.name}`
        // From memory when the overlay can (a walk of lower directories), else through lookup.
        let node = ov.lookupCachedIn(path, e.name, child)
        let attr = node ? ov.attrCached(node) : undefined
        if (node === undefined || (node && !attr)) {
          try {
            ;({ node, attr } = await resolve(child))
          } catch {
            node = null // gone since the listing was read: send the name only
          }
        }
        if (!node || !attr) {
          if (!out.add({ off: i + 1, name: e.name, type: DT[e.type], entry: { nodeid: 0, attr: { ino: table.peekIno(child), mode: DT[e.type] } } })) break
          continue
        }
        // The reference is taken and the entry built in one synchronous step; given back if it did not fit.
        const entry = entryFor(child, node, attr, path, e.name)
        if (!out.add({ off: i + 1, name: e.name, type: attr.mode & C.S_IFMT, entry })) {
          table.forget(entry.nodeid, 1)
          break
        }
      }
      keep(ino, l, i >= total)
      return end(ino, path, i >= total)
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
    // Listings kept between READDIR chunks may be stale now.
    listings.clear()
    bases++
    const notes: Promise<void>[] = []
    const inval = (p: Promise<void>) => notes.push(p.catch((e) => log(`scorpio: invalidation failed: ${e?.message ?? e}`)))
    // Without a list, every path the kernel holds may have changed; the root keeps its inode.
    const all = changedPaths ? undefined : table.livePaths()
    const paths = changedPaths ? [...changedPaths].map((p) => p.replace(/^\/+|\/+$/g, '')) : [...all!.keys()].filter((p) => p !== '')
    // The inodes of the directories concerned and of the changed entries' parents, taken before
    // anything is detached.
    const touchedDirs = new Set<string>()
    const entries: [number, string][] = []
    for (const path of paths) {
      if (path === '') {
        // The root keeps its inode: its own listing and attributes are what may have changed.
        touchedDirs.add('')
        continue
      }
      const parent = parentPath(path)
      // The directories above a changed entry keep their inodes (detaching one detaches its whole
      // subtree: on a 1M-file tree a checkout of 31 files detached and notified ~1M inodes); what
      // may have changed is their attributes (an upper directory gone after a commit) and listings.
      for (let d = parent; !touchedDirs.has(d); d = parentPath(d)) {
        touchedDirs.add(d)
        if (d === '') break
      }
      const pn = all ? all.get(parent) : table.lookup(parent)
      if (pn !== undefined) entries.push([pn, path.slice(path.lastIndexOf('/') + 1)])
    }
    const dirs = [...touchedDirs].map((d) => (all ? all.get(d) : table.lookup(d)))
    // Everything at and beneath a changed path gets a fresh inode on its next lookup.
    const gone = all ? paths.map((p) => table.detach(p)) : table.detachUnder(paths.filter((p) => p !== ''))
    if (!mount) return
    for (const ino of gone) if (ino !== undefined) inval(mount.notifyInvalInode(ino, 0, 0))
    for (const [pn, name] of entries) inval(mount.notifyInvalEntry(pn, name))
    // Offset 0 drops the directory's pages, which hold the kernel's copy of its listing (every
    // directory is opened with FOPEN_CACHE_DIR): a name may have appeared or gone in it.
    for (const ino of dirs) if (ino !== undefined) inval(mount.notifyInvalInode(ino, 0, 0))
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
