// The opcode table: for each opcode, how its body decodes into a RawFileSystem input, which method
// answers it, and how the answer encodes. The session (session.ts) only walks this table.
import type * as R from './raw_fs.ts'
import { ERRNO, FuseError } from './errors.ts'
import {
  ATTR_OUT_SIZE, ENTRY_OUT_SIZE, FATTR, FSYNC_FDATASYNC, GETATTR_FH, OPCODE, OPEN_OUT_SIZE,
  OUT_HEADER_SIZE, READ_LOCKOWNER, WRITE_LOCKOWNER,
} from './kernel.ts'
import {
  allocReply, BodyReader, DirentBuffer, encodeAttrOut, encodeEntryOut, encodeKstatfs, encodeName,
  encodeOpenOut, InHeader, KSTATFS_SIZE, setU64, u64,
} from './wire.ts'

/** Chunks of one reply; chunks[0] starts with OUT_HEADER_SIZE bytes of room for the header. */
export type ReplyChunks = Uint8Array[]

export interface OpDef {
  name: string
  /** RawFileSystem method answering it. */
  method: keyof R.RawFileSystem
  /** No reply is ever written (FORGET, BATCH_FORGET, INTERRUPT). */
  noReply?: boolean
  decode(r: BodyReader, h: InHeader): unknown
  /** Encodes the method's result; absent → an empty (header-only) reply. */
  encode?(result: any, input: any): ReplyChunks
  /** READDIR/READDIRPLUS: the method gets a sink as a third argument. */
  dir?: 'plain' | 'plus'
}

const empty = (): ReplyChunks => [new Uint8Array(OUT_HEADER_SIZE)]

function entryReply(e: R.EntryOut): ReplyChunks {
  const { buf, v } = allocReply(ENTRY_OUT_SIZE)
  encodeEntryOut(v, OUT_HEADER_SIZE, e)
  return [buf]
}

function attrReply(a: R.AttrOut): ReplyChunks {
  const { buf, v } = allocReply(ATTR_OUT_SIZE)
  encodeAttrOut(v, OUT_HEADER_SIZE, a.attrValid, a.attr)
  return [buf]
}

function openReply(o: R.OpenOut | undefined): ReplyChunks {
  const { buf, v } = allocReply(OPEN_OUT_SIZE)
  encodeOpenOut(v, OUT_HEADER_SIZE, o ?? {})
  return [buf]
}

function dataReply(d: Uint8Array | string): ReplyChunks {
  const bytes = typeof d === 'string' ? encodeName(d) : d
  return bytes.length ? [new Uint8Array(OUT_HEADER_SIZE), bytes] : empty()
}

function u32Reply(n: number): ReplyChunks {
  const { buf, v } = allocReply(8)
  v.setUint32(OUT_HEADER_SIZE, n, true)
  return [buf]
}

/** GETXATTR/LISTXATTR: size probe (size 0) → fuse_getxattr_out; too small → ERANGE; else bytes. */
function xattrReply(bytes: Uint8Array, size: number): ReplyChunks {
  if (size === 0) return u32Reply(bytes.length)
  if (bytes.length > size) throw new FuseError('ERANGE')
  return dataReply(bytes)
}

const ino = (h: InHeader) => h.nodeid

const open = (r: BodyReader, h: InHeader): R.OpenIn => ({
  ino: ino(h), flags: r.v.getUint32(r.pos, true), openFlags: r.v.getUint32(r.pos + 4, true),
})
const release = (r: BodyReader, h: InHeader): R.ReleaseIn => ({
  ino: ino(h), fh: u64(r.v, r.pos), flags: r.v.getUint32(r.pos + 8, true),
  releaseFlags: r.v.getUint32(r.pos + 12, true), lockOwner: r.v.getBigUint64(r.pos + 16, true),
})
const fsync = (r: BodyReader, h: InHeader): R.FsyncIn => ({
  ino: ino(h), fh: u64(r.v, r.pos), datasync: (r.v.getUint32(r.pos + 8, true) & FSYNC_FDATASYNC) !== 0,
})
const readdir = (r: BodyReader, h: InHeader): R.ReaddirIn => ({
  ino: ino(h), fh: u64(r.v, r.pos), offset: u64(r.v, r.pos + 8), size: r.v.getUint32(r.pos + 16, true),
})

function setattr(r: BodyReader, h: InHeader): R.SetattrIn {
  const v = r.v, p = r.pos
  const valid = v.getUint32(p, true)
  const s: R.SetattrIn = { ino: ino(h), valid }
  if (valid & FATTR.FH) s.fh = u64(v, p + 8)
  if (valid & FATTR.SIZE) s.size = u64(v, p + 16)
  if (valid & FATTR.LOCKOWNER) s.lockOwner = v.getBigUint64(p + 24, true)
  if (valid & FATTR.ATIME) {
    if (valid & FATTR.ATIME_NOW) s.atimeNow = true
    else { s.atime = u64(v, p + 32); s.atimensec = v.getUint32(p + 56, true) }
  }
  if (valid & FATTR.MTIME) {
    if (valid & FATTR.MTIME_NOW) s.mtimeNow = true
    else { s.mtime = u64(v, p + 40); s.mtimensec = v.getUint32(p + 60, true) }
  }
  if (valid & FATTR.CTIME) { s.ctime = u64(v, p + 48); s.ctimensec = v.getUint32(p + 64, true) }
  if (valid & FATTR.MODE) s.mode = v.getUint32(p + 68, true)
  if (valid & FATTR.UID) s.uid = v.getUint32(p + 76, true)
  if (valid & FATTR.GID) s.gid = v.getUint32(p + 80, true)
  if (valid & FATTR.KILL_SUIDGID) s.killSuidgid = true
  return s
}

function rename(r: BodyReader, h: InHeader, two: boolean): R.RenameIn {
  const newParent = u64(r.v, r.pos)
  const flags = two ? r.v.getUint32(r.pos + 8, true) : 0
  r.pos += two ? 16 : 8
  const name = r.name()
  return { parent: ino(h), name, newParent, newName: r.name(), flags }
}

/** Decoders and encoders by opcode (INIT, DESTROY and INTERRUPT are handled by the session). */
export const OPS: ReadonlyMap<number, OpDef> = new Map<number, OpDef>([
  [OPCODE.LOOKUP, { name: 'LOOKUP', method: 'lookup', decode: (r, h) => ({ parent: ino(h), name: r.name() }), encode: entryReply }],
  [OPCODE.FORGET, { name: 'FORGET', method: 'forget', noReply: true, decode: (r, h) => ({ ino: ino(h), nlookup: u64(r.v, r.pos) }) }],
  [OPCODE.BATCH_FORGET, {
    name: 'BATCH_FORGET', method: 'batchForget', noReply: true,
    decode: (r) => {
      const count = r.v.getUint32(r.pos, true)
      const items: R.ForgetIn[] = []
      for (let i = 0, p = r.pos + 8; i < count && p + 16 <= r.end; i++, p += 16) {
        items.push({ ino: u64(r.v, p), nlookup: u64(r.v, p + 8) })
      }
      return { items }
    },
  }],
  [OPCODE.GETATTR, {
    name: 'GETATTR', method: 'getattr', encode: attrReply,
    decode: (r, h) => {
      const g: R.GetattrIn = { ino: ino(h) }
      if (r.end - r.pos >= 16 && (r.v.getUint32(r.pos, true) & GETATTR_FH)) g.fh = u64(r.v, r.pos + 8)
      return g
    },
  }],
  [OPCODE.SETATTR, { name: 'SETATTR', method: 'setattr', decode: setattr, encode: attrReply }],
  [OPCODE.READLINK, { name: 'READLINK', method: 'readlink', decode: (_r, h) => ({ ino: ino(h) }), encode: dataReply }],
  [OPCODE.SYMLINK, {
    name: 'SYMLINK', method: 'symlink', encode: entryReply,
    decode: (r, h) => { const name = r.name(); return { parent: ino(h), name, target: r.name() } },
  }],
  [OPCODE.MKNOD, {
    name: 'MKNOD', method: 'mknod', encode: entryReply,
    decode: (r, h) => {
      const v = r.v, p = r.pos
      r.pos += 16
      return { parent: ino(h), mode: v.getUint32(p, true), rdev: v.getUint32(p + 4, true), umask: v.getUint32(p + 8, true), name: r.name() }
    },
  }],
  [OPCODE.MKDIR, {
    name: 'MKDIR', method: 'mkdir', encode: entryReply,
    decode: (r, h) => {
      const mode = r.v.getUint32(r.pos, true), umask = r.v.getUint32(r.pos + 4, true)
      r.pos += 8
      return { parent: ino(h), mode, umask, name: r.name() }
    },
  }],
  [OPCODE.UNLINK, { name: 'UNLINK', method: 'unlink', decode: (r, h) => ({ parent: ino(h), name: r.name() }) }],
  [OPCODE.RMDIR, { name: 'RMDIR', method: 'rmdir', decode: (r, h) => ({ parent: ino(h), name: r.name() }) }],
  [OPCODE.RENAME, { name: 'RENAME', method: 'rename', decode: (r, h) => rename(r, h, false) }],
  [OPCODE.RENAME2, { name: 'RENAME2', method: 'rename', decode: (r, h) => rename(r, h, true) }],
  [OPCODE.LINK, {
    name: 'LINK', method: 'link', encode: entryReply,
    decode: (r, h) => { const old = u64(r.v, r.pos); r.pos += 8; return { ino: old, newParent: ino(h), newName: r.name() } },
  }],
  [OPCODE.OPEN, { name: 'OPEN', method: 'open', decode: open, encode: openReply }],
  [OPCODE.READ, {
    name: 'READ', method: 'read', encode: dataReply,
    decode: (r, h): R.ReadIn => {
      const v = r.v, p = r.pos
      const readFlags = v.getUint32(p + 20, true)
      const o: R.ReadIn = { ino: ino(h), fh: u64(v, p), offset: u64(v, p + 8), size: v.getUint32(p + 16, true), readFlags, flags: v.getUint32(p + 32, true) }
      if (readFlags & READ_LOCKOWNER) o.lockOwner = v.getBigUint64(p + 24, true)
      return o
    },
  }],
  [OPCODE.WRITE, {
    name: 'WRITE', method: 'write', encode: (w: R.WriteOut) => u32Reply(w.size),
    decode: (r, h): R.WriteIn => {
      const v = r.v, p = r.pos
      const size = v.getUint32(p + 16, true), writeFlags = v.getUint32(p + 20, true)
      const o: R.WriteIn = { ino: ino(h), fh: u64(v, p), offset: u64(v, p + 8), writeFlags, flags: v.getUint32(p + 32, true), data: r.buf.subarray(p + 40, p + 40 + size) }
      if (writeFlags & WRITE_LOCKOWNER) o.lockOwner = v.getBigUint64(p + 24, true)
      return o
    },
  }],
  [OPCODE.STATFS, {
    name: 'STATFS', method: 'statfs', decode: (_r, h) => ({ ino: ino(h) }),
    encode: (s: R.Kstatfs) => { const { buf, v } = allocReply(KSTATFS_SIZE); encodeKstatfs(v, OUT_HEADER_SIZE, s); return [buf] },
  }],
  [OPCODE.RELEASE, { name: 'RELEASE', method: 'release', decode: release }],
  [OPCODE.FSYNC, { name: 'FSYNC', method: 'fsync', decode: fsync }],
  [OPCODE.SETXATTR, {
    name: 'SETXATTR', method: 'setxattr',
    // Without FUSE_SETXATTR_EXT (we do not ask for it) the body is the 8-byte compat struct.
    decode: (r, h) => {
      const size = r.v.getUint32(r.pos, true), flags = r.v.getUint32(r.pos + 4, true)
      r.pos += 8
      const name = r.name()
      return { ino: ino(h), name, flags, value: r.bytes(size) }
    },
  }],
  [OPCODE.GETXATTR, {
    name: 'GETXATTR', method: 'getxattr',
    decode: (r, h) => { const size = r.v.getUint32(r.pos, true); r.pos += 8; return { ino: ino(h), size, name: r.name() } },
    encode: (value: Uint8Array, input: { size: number }) => xattrReply(value, input.size),
  }],
  [OPCODE.LISTXATTR, {
    name: 'LISTXATTR', method: 'listxattr',
    decode: (r, h) => ({ ino: ino(h), size: r.v.getUint32(r.pos, true) }),
    encode: (names: string[], input: { size: number }) => xattrReply(encodeName(names.map((n) => n + '\0').join('')), input.size),
  }],
  [OPCODE.REMOVEXATTR, { name: 'REMOVEXATTR', method: 'removexattr', decode: (r, h) => ({ ino: ino(h), name: r.name() }) }],
  [OPCODE.FLUSH, {
    name: 'FLUSH', method: 'flush',
    decode: (r, h) => ({ ino: ino(h), fh: u64(r.v, r.pos), lockOwner: r.v.getBigUint64(r.pos + 16, true) }),
  }],
  [OPCODE.OPENDIR, { name: 'OPENDIR', method: 'opendir', decode: open, encode: openReply }],
  [OPCODE.READDIR, { name: 'READDIR', method: 'readdir', decode: readdir, dir: 'plain' }],
  [OPCODE.READDIRPLUS, { name: 'READDIRPLUS', method: 'readdirplus', decode: readdir, dir: 'plus' }],
  [OPCODE.RELEASEDIR, { name: 'RELEASEDIR', method: 'releasedir', decode: release }],
  [OPCODE.FSYNCDIR, { name: 'FSYNCDIR', method: 'fsyncdir', decode: fsync }],
  [OPCODE.ACCESS, { name: 'ACCESS', method: 'access', decode: (r, h) => ({ ino: ino(h), mask: r.v.getUint32(r.pos, true) }) }],
  [OPCODE.CREATE, {
    name: 'CREATE', method: 'create',
    decode: (r, h) => {
      const v = r.v, p = r.pos
      r.pos += 16
      return { parent: ino(h), flags: v.getUint32(p, true), mode: v.getUint32(p + 4, true), umask: v.getUint32(p + 8, true), openFlags: v.getUint32(p + 12, true), name: r.name() }
    },
    encode: (c: R.CreateOut) => {
      const { buf, v } = allocReply(ENTRY_OUT_SIZE + OPEN_OUT_SIZE)
      encodeEntryOut(v, OUT_HEADER_SIZE, c.entry)
      encodeOpenOut(v, OUT_HEADER_SIZE + ENTRY_OUT_SIZE, c.open)
      return [buf]
    },
  }],
  [OPCODE.FALLOCATE, {
    name: 'FALLOCATE', method: 'fallocate',
    decode: (r, h) => ({ ino: ino(h), fh: u64(r.v, r.pos), offset: u64(r.v, r.pos + 8), length: u64(r.v, r.pos + 16), mode: r.v.getUint32(r.pos + 24, true) }),
  }],
  [OPCODE.LSEEK, {
    name: 'LSEEK', method: 'lseek',
    decode: (r, h) => ({ ino: ino(h), fh: u64(r.v, r.pos), offset: u64(r.v, r.pos + 8), whence: r.v.getUint32(r.pos + 16, true) }),
    encode: (o: R.LseekOut) => { const { buf, v } = allocReply(8); setU64(v, OUT_HEADER_SIZE, o.offset); return [buf] },
  }],
  [OPCODE.COPY_FILE_RANGE, {
    name: 'COPY_FILE_RANGE', method: 'copyFileRange',
    decode: (r, h) => {
      const v = r.v, p = r.pos
      return { inoIn: ino(h), fhIn: u64(v, p), offIn: u64(v, p + 8), inoOut: u64(v, p + 16), fhOut: u64(v, p + 24), offOut: u64(v, p + 32), len: u64(v, p + 40), flags: u64(v, p + 48) }
    },
    encode: (w: R.WriteOut) => u32Reply(w.size),
  }],
])

/** Builds the READDIR(PLUS) reply sink. */
export function direntSink(size: number, plus: boolean): DirentBuffer {
  return new DirentBuffer(size, plus)
}

export { empty as emptyReply, ERRNO }
