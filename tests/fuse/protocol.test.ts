// Protocol unit tests on byte fixtures: no mount, the session is fed kernel-shaped requests and
// its replies are decoded by hand against /usr/include/linux/fuse.h offsets.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { FuseSession } from '../../lib/fuse/session.ts'
import { FuseError } from '../../lib/fuse/errors.ts'
import { OPCODE, INIT } from '../../lib/fuse/kernel.ts'
import type * as R from '../../lib/fuse/raw_fs.ts'
import { MemFs } from '../helpers/mem_fs.ts'

const enc = new TextEncoder()
let nextUnique = 100n

/** fuse_in_header (40 bytes) + body. */
function request(opcode: number, nodeid: number, body: Uint8Array = new Uint8Array(0), unique = nextUnique++): Uint8Array {
  const buf = new Uint8Array(40 + body.length)
  const v = new DataView(buf.buffer)
  v.setUint32(0, buf.length, true)
  v.setUint32(4, opcode, true)
  v.setBigUint64(8, unique, true)
  v.setBigUint64(16, BigInt(nodeid), true)
  v.setUint32(24, 1000, true) // uid
  v.setUint32(28, 100, true) // gid
  v.setUint32(32, 4242, true) // pid
  buf.set(body, 40)
  return buf
}

function struct(size: number, fill: (v: DataView) => void, tail: Uint8Array[] = []): Uint8Array {
  const total = size + tail.reduce((a, t) => a + t.length, 0)
  const buf = new Uint8Array(total)
  fill(new DataView(buf.buffer))
  let off = size
  for (const t of tail) { buf.set(t, off); off += t.length }
  return buf
}
const cstr = (s: string) => enc.encode(s + '\0')

interface Reply { len: number; error: number; unique: bigint; body: DataView; bytes: Uint8Array }

function harness(fs: R.RawFileSystem, opts: { writebackCache?: boolean } = {}) {
  const replies: Reply[] = []
  const logs: string[] = []
  const session = new FuseSession(fs, {
    write: (chunks) => {
      const total = chunks.reduce((a, c) => a + c.length, 0)
      const bytes = new Uint8Array(total)
      let o = 0
      for (const c of chunks) { bytes.set(c, o); o += c.length }
      const v = new DataView(bytes.buffer)
      replies.push({ len: v.getUint32(0, true), error: v.getInt32(4, true), unique: v.getBigUint64(8, true), body: new DataView(bytes.buffer, 16), bytes })
    },
    log: (l) => logs.push(l),
    ...opts,
  })
  const send = async (req: Uint8Array) => {
    const before = replies.length
    await session.dispatch(req)
    return replies.length > before ? replies[replies.length - 1] : undefined
  }
  return { session, replies, logs, send }
}

function initRequest(minor = 45, flags = 0xffff_ffff, flags2 = 0xff): Uint8Array {
  return request(OPCODE.INIT, 0, struct(64, (v) => {
    v.setUint32(0, 7, true); v.setUint32(4, minor, true); v.setUint32(8, 131072, true)
    v.setUint32(12, flags, true); v.setUint32(16, flags2, true)
  }))
}

test('INIT: 64-byte fuse_init_out, minor capped at 7.38, 1 MiB max_write, wanted flags only', async () => {
  const { send, session } = harness(new MemFs(), { writebackCache: false })
  const r = (await send(initRequest()))!
  assert.is(r.error, 0)
  assert.is(r.len, 16 + 64)
  assert.is(r.body.getUint32(0, true), 7)
  assert.is(r.body.getUint32(4, true), 38)
  assert.is(r.body.getUint32(8, true), 131072)
  const flags = BigInt(r.body.getUint32(12, true)) | (BigInt(r.body.getUint32(32, true)) << 32n)
  for (const f of [INIT.ASYNC_READ, INIT.BIG_WRITES, INIT.MAX_PAGES, INIT.PARALLEL_DIROPS, INIT.DO_READDIRPLUS, INIT.READDIRPLUS_AUTO]) {
    assert.ok(flags & f, `flag 0x${f.toString(16)} negotiated`)
  }
  assert.not.ok(flags & INIT.WRITEBACK_CACHE, 'no writeback cache unless asked')
  assert.is(r.body.getUint32(20, true), 1 << 20, 'max_write')
  assert.is(r.body.getUint16(28, true), 256, 'max_pages')
  assert.is(session.conn?.minor, 38)
})

test('INIT: older kernel gets its own minor and a 24-byte reply; writeback cache when asked', async () => {
  const { send } = harness(new MemFs(), { writebackCache: true })
  const r = (await send(initRequest(22, INIT_FLAGS_LOW(INIT.WRITEBACK_CACHE | INIT.BIG_WRITES))))!
  assert.is(r.len, 16 + 24)
  assert.is(r.body.getUint32(4, true), 22)
  assert.is(r.body.getUint32(12, true), Number(INIT.WRITEBACK_CACHE | INIT.BIG_WRITES))
})
function INIT_FLAGS_LOW(f: bigint): number { return Number(f & 0xffff_ffffn) }

test('INIT: a kernel older than 7.12 is refused with EPROTO and a log line', async () => {
  const { send, logs } = harness(new MemFs())
  const r = (await send(initRequest(8)))!
  assert.is(r.error, -71)
  assert.match(logs.join('\n'), /too old/)
})

test('LOOKUP decodes the name and encodes fuse_entry_out with per-reply timeouts', async () => {
  const seen: R.LookupIn[] = []
  const { send } = harness({
    async lookup(ctx, i) {
      seen.push(i)
      assert.is(ctx.uid, 1000); assert.is(ctx.gid, 100); assert.is(ctx.pid, 4242)
      return { nodeid: 77, generation: 3, entryValid: 2.5, attrValid: 0, attr: { ino: 77, mode: 0o100644, size: 1234, nlink: 2, mtime: 1700000000, mtimensec: 5 } }
    },
  })
  const r = (await send(request(OPCODE.LOOKUP, 1, cstr('hello.txt'))))!
  assert.equal(seen, [{ parent: 1, name: 'hello.txt' }])
  assert.is(r.error, 0)
  assert.is(r.len, 16 + 128)
  const b = r.body
  assert.is(b.getBigUint64(0, true), 77n)
  assert.is(b.getBigUint64(8, true), 3n)
  assert.is(b.getBigUint64(16, true), 2n, 'entry_valid seconds')
  assert.is(b.getUint32(32, true), 500_000_000, 'entry_valid_nsec')
  assert.is(b.getBigUint64(24, true), 0n, 'attr_valid')
  // fuse_attr at 40
  assert.is(b.getBigUint64(40, true), 77n)
  assert.is(b.getBigUint64(48, true), 1234n)
  assert.is(b.getBigUint64(56, true), 3n, 'blocks default ceil(size/512)')
  assert.is(b.getBigUint64(40 + 32, true), 1700000000n, 'mtime')
  assert.is(b.getUint32(40 + 52, true), 5, 'mtimensec')
  assert.is(b.getUint32(40 + 60, true), 0o100644, 'mode')
  assert.is(b.getUint32(40 + 64, true), 2, 'nlink')
})

test('a missing method answers ENOSYS; FuseError answers its errno; a crash answers EIO and logs once', async () => {
  const { send, logs } = harness({
    async getattr() { throw new FuseError('EACCES') },
    async readlink() { throw new TypeError('boom') },
  })
  assert.is((await send(request(OPCODE.MKDIR, 1, struct(8, () => {}, [cstr('x')]))))!.error, -38)
  assert.is((await send(request(OPCODE.GETATTR, 5, new Uint8Array(16))))!.error, -13)
  assert.is(logs.length, 0)
  assert.is((await send(request(OPCODE.READLINK, 5)))!.error, -5)
  assert.is(logs.length, 1)
  assert.match(logs[0], /READLINK.*EIO.*boom/)
  // errors carrying an errno name (like ScorpioError) and Node system errors map too
  const h2 = harness({
    async unlink() { throw Object.assign(new Error('gone'), { errno: 'ENOENT' }) },
    async rmdir() { throw Object.assign(new Error('x'), { code: 'ENOTEMPTY' }) },
  })
  assert.is((await h2.send(request(OPCODE.UNLINK, 1, cstr('a'))))!.error, -2)
  assert.is((await h2.send(request(OPCODE.RMDIR, 1, cstr('a'))))!.error, -39)
})

test('FORGET and BATCH_FORGET never reply; BATCH_FORGET falls back to forget()', async () => {
  const forgotten: R.ForgetIn[] = []
  const { send, replies } = harness({ forget: (_c, i) => { forgotten.push(i) } })
  await send(request(OPCODE.FORGET, 9, struct(8, (v) => v.setBigUint64(0, 3n, true))))
  await send(request(OPCODE.BATCH_FORGET, 0, struct(8 + 32, (v) => {
    v.setUint32(0, 2, true)
    v.setBigUint64(8, 10n, true); v.setBigUint64(16, 1n, true)
    v.setBigUint64(24, 11n, true); v.setBigUint64(32, 2n, true)
  })))
  assert.equal(forgotten, [{ ino: 9, nlookup: 3 }, { ino: 10, nlookup: 1 }, { ino: 11, nlookup: 2 }])
  assert.is(replies.length, 0)
})

test('SETATTR decodes only the valid fields', async () => {
  let got: R.SetattrIn | undefined
  const { send } = harness({ async setattr(_c, i) { got = i; return { attr: { ino: i.ino, mode: 0o100600 } } } })
  const body = struct(88, (v) => {
    v.setUint32(0, (1 << 0) | (1 << 3) | (1 << 5) | (1 << 7) | (1 << 4), true) // MODE SIZE MTIME ATIME(+NOW)
    v.setBigUint64(16, 4097n, true)
    v.setBigUint64(40, 1600000000n, true)
    v.setUint32(60, 123, true)
    v.setUint32(68, 0o600, true)
    v.setUint32(76, 55, true) // uid, not marked valid
  })
  const r = (await send(request(OPCODE.SETATTR, 12, body)))!
  assert.is(r.error, 0)
  assert.is(r.len, 16 + 104)
  assert.equal(got, { ino: 12, valid: got!.valid, size: 4097, atimeNow: true, mtime: 1600000000, mtimensec: 123, mode: 0o600 })
})

test('RENAME and RENAME2 both reach rename() with their flags', async () => {
  const seen: R.RenameIn[] = []
  const { send } = harness({ async rename(_c, i) { seen.push(i) } })
  await send(request(OPCODE.RENAME, 2, struct(8, (v) => v.setBigUint64(0, 3n, true), [cstr('a'), cstr('b')])))
  await send(request(OPCODE.RENAME2, 2, struct(16, (v) => { v.setBigUint64(0, 4n, true); v.setUint32(8, 2, true) }, [cstr('x'), cstr('y')])))
  assert.equal(seen, [
    { parent: 2, name: 'a', newParent: 3, newName: 'b', flags: 0 },
    { parent: 2, name: 'x', newParent: 4, newName: 'y', flags: 2 },
  ])
})

test('READ returns the file system bytes unchanged; WRITE sees a view of the payload', async () => {
  const data = enc.encode('0123456789')
  let written = ''
  const { send } = harness({
    async read(_c, i) { return data.subarray(i.offset, i.offset + i.size) },
    async write(_c, i) { written = new TextDecoder().decode(i.data) + '@' + i.offset; return { size: i.data.length } },
  })
  const rd = (await send(request(OPCODE.READ, 5, struct(40, (v) => { v.setBigUint64(8, 3n, true); v.setUint32(16, 4, true) }))))!
  assert.is(new TextDecoder().decode(rd.bytes.subarray(16)), '3456')
  assert.is(rd.len, 20)
  const payload = enc.encode('hello')
  const wr = (await send(request(OPCODE.WRITE, 5, struct(40, (v) => { v.setBigUint64(8, 7n, true); v.setUint32(16, 5, true) }, [payload]))))!
  assert.is(written, 'hello@7')
  assert.is(wr.body.getUint32(0, true), 5)
})

test('GETXATTR/LISTXATTR: size probe, ERANGE, values', async () => {
  const { send } = harness({
    async getxattr() { return enc.encode('value') },
    async listxattr() { return ['user.a', 'user.bb'] },
  })
  const probe = (await send(request(OPCODE.GETXATTR, 3, struct(8, () => {}, [cstr('user.a')]))))!
  assert.is(probe.body.getUint32(0, true), 5)
  const small = (await send(request(OPCODE.GETXATTR, 3, struct(8, (v) => v.setUint32(0, 2, true), [cstr('user.a')]))))!
  assert.is(small.error, -34)
  const full = (await send(request(OPCODE.GETXATTR, 3, struct(8, (v) => v.setUint32(0, 100, true), [cstr('user.a')]))))!
  assert.is(new TextDecoder().decode(full.bytes.subarray(16)), 'value')
  const list = (await send(request(OPCODE.LISTXATTR, 3, struct(8, (v) => v.setUint32(0, 100, true)))))!
  assert.is(new TextDecoder().decode(list.bytes.subarray(16)), 'user.a\0user.bb\0')
})

test('READDIR packs aligned fuse_dirent records and stops when the buffer is full', async () => {
  const names = ['.', '..', 'alpha', 'b', 'a-much-longer-name-than-the-others']
  let accepted = 0
  const { send } = harness({
    async readdir(_c, i, out) {
      for (let k = i.offset; k < names.length; k++) {
        if (!out.add({ ino: 10 + k, off: k + 1, type: k < 2 ? 0o040000 : 0o100000, name: names[k] })) break
        accepted++
      }
    },
  })
  // 24 + name, aligned to 8: '.'→32 '..'→32 'alpha'→32 'b'→32 : 128 bytes fit, the long one does not.
  const r = (await send(request(OPCODE.READDIR, 1, struct(40, (v) => v.setUint32(16, 130, true)))))!
  assert.is(r.len, 16 + 128)
  assert.is(accepted, 4)
  const b = r.body
  assert.is(b.getBigUint64(64 + 0, true), 12n, 'third entry ino')
  assert.is(b.getBigUint64(64 + 8, true), 3n, 'third entry off')
  assert.is(b.getUint32(64 + 16, true), 5, 'namelen')
  assert.is(b.getUint32(64 + 20, true), 8, 'DT_REG')
  assert.is(new TextDecoder().decode(r.bytes.subarray(16 + 64 + 24, 16 + 64 + 29)), 'alpha')
  assert.is(b.getUint32(20, true), 4, 'DT_DIR for .')
})

test('READDIR: UTF-8 names and replies past the first 4 KiB come back intact, padding zeroed', async () => {
  const names = Array.from({ length: 400 }, (_, k) => (k % 3 ? `fïlé-${k}-ß` : `f${k}`))
  const { send } = harness({
    async readdir(_c, i, out) {
      for (let k = i.offset; k < names.length; k++) if (!out.add({ ino: 100 + k, off: k + 1, type: 0o100000, name: names[k] })) break
    },
  })
  const r = (await send(request(OPCODE.READDIR, 1, struct(40, (v) => v.setUint32(16, 65536, true)))))!
  assert.ok(r.len > 4096, 'more than the first 4 KiB')
  const got: string[] = []
  for (let p = 16; p < r.len;) {
    const namelen = r.body.getUint32(p - 16 + 16, true)
    got.push(new TextDecoder().decode(r.bytes.subarray(p + 24, p + 24 + namelen)))
    const rec = (24 + namelen + 7) & ~7
    for (let q = p + 24 + namelen; q < p + rec; q++) assert.is(r.bytes[q], 0, 'padding is zero')
    p += rec
  }
  assert.equal(got, names)
})

test('READDIRPLUS through MemFs: entries carry fuse_entry_out and count as lookups', async () => {
  const fs = new MemFs()
  const { send } = harness(fs)
  const ctx = { unique: 1n, opcode: 0, uid: 0, gid: 0, pid: 0, signal: new AbortController().signal }
  await fs.create(ctx, { parent: 1, name: 'f', mode: 0o644, umask: 0, flags: 0, openFlags: 0 })
  const fileIno = [...fs.nodes.values()].find((n) => n.ino !== 1)!.ino
  const before = fs.node(fileIno).lookups
  const od = (await send(request(OPCODE.OPENDIR, 1, new Uint8Array(8))))!
  const fh = od.body.getBigUint64(0, true)
  const r = (await send(request(OPCODE.READDIRPLUS, 1, struct(40, (v) => { v.setBigUint64(0, fh, true); v.setUint32(16, 4096, true) }))))!
  assert.is(r.error, 0)
  // three records: '.', '..', 'f' each 128 + 24 + name, aligned to 8 → 160
  assert.is(r.len, 16 + 3 * 160)
  const third = 16 + 2 * 160
  const v = new DataView(r.bytes.buffer)
  assert.is(v.getBigUint64(third, true), BigInt(fileIno), 'entry_out.nodeid')
  assert.is(v.getBigUint64(third + 128, true), BigInt(fileIno), 'dirent.ino')
  assert.is(fs.node(fileIno).lookups, before + 1)
})

test('INTERRUPT aborts the running request signal; the handler answers EINTR', async () => {
  let started!: () => void
  const running = new Promise<void>((r) => { started = r })
  const { send, session } = harness({
    read: (ctx) => new Promise((_resolve, reject) => {
      started()
      ctx.signal.addEventListener('abort', () => reject(new FuseError('EINTR')))
    }),
  })
  const p = send(request(OPCODE.READ, 5, struct(40, (v) => v.setUint32(16, 10, true)), 999n))
  await running
  assert.is(session.pending, 1)
  await send(request(OPCODE.INTERRUPT, 0, struct(8, (v) => v.setBigUint64(0, 999n, true))))
  const r = (await p)!
  assert.is(r.unique, 999n)
  assert.is(r.error, -4)
  assert.is(session.pending, 0)
})

test('DESTROY replies, calls destroy() and ends the session', async () => {
  let destroyed = 0
  const { send, session } = harness({ destroy: () => { destroyed++ } })
  const r = (await send(request(OPCODE.DESTROY, 0)))!
  assert.is(r.error, 0)
  await session.ended
  assert.is(destroyed, 1)
})

test('notifications: inval_inode, inval_entry and delete have unique 0 and the notify code', () => {
  const { session, replies } = harness({})
  session.notifyInvalInode(42, 0, -1)
  session.notifyInvalEntry(1, 'name')
  session.notifyDelete(1, 42, 'name')
  assert.equal(replies.map((r) => [r.unique, r.error, r.len]), [[0n, 2, 16 + 24], [0n, 3, 16 + 16 + 5], [0n, 6, 16 + 24 + 5]])
  assert.is(replies[0].body.getBigInt64(16, true), -1n)
  assert.is(replies[1].body.getUint32(8, true), 4)
  assert.is(replies[2].body.getBigUint64(8, true), 42n)
})

test.run()
