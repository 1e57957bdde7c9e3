// Answers the reader threads give themselves (lib/fuse/answers.ts): byte-level checks of the
// reader-side answerer against what the session publishes, then real mounts where every change
// must show at once and the kernel's lookup counts must still settle exactly.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { ANSWERER_SOURCE, AnswerCache } from '../../lib/fuse/answers.ts'
import { FuseSession } from '../../lib/fuse/session.ts'
import { OPCODE } from '../../lib/fuse/kernel.ts'
import type * as R from '../../lib/fuse/raw_fs.ts'
import { MemFs } from '../helpers/mem_fs.ts'
import { sh, withMount } from '../helpers/mounts.ts'

type Answer = (req: Uint8Array, n: number, out: Uint8Array) => number
const makeAnswerer = new Function(`${ANSWERER_SOURCE}; return makeAnswerer`)() as (buf: SharedArrayBuffer, reader: number) => Answer

let nextUnique = 500n
function request(opcode: number, nodeid: number, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const buf = new Uint8Array(40 + body.length)
  const v = new DataView(buf.buffer)
  v.setUint32(0, buf.length, true)
  v.setUint32(4, opcode, true)
  v.setBigUint64(8, nextUnique++, true)
  v.setBigUint64(16, BigInt(nodeid), true)
  buf.set(body, 40)
  return buf
}
const lookupReq = (parent: number, name: string) => request(OPCODE.LOOKUP, parent, new TextEncoder().encode(name + '\0'))
function readdirReq(opcode: number, ino: number, offset: number): Uint8Array {
  const body = new Uint8Array(40)
  const v = new DataView(body.buffer)
  v.setBigUint64(8, BigInt(offset), true)
  v.setUint32(16, 4096, true)
  return request(opcode, ino, body)
}
function entryOut(nodeid: number, size: number): Uint8Array {
  const b = new Uint8Array(128)
  const v = new DataView(b.buffer)
  v.setBigUint64(0, BigInt(nodeid), true)
  v.setBigUint64(16, 3600n, true)
  v.setBigUint64(24, 3600n, true)
  v.setBigUint64(40, BigInt(nodeid), true) // attr.ino
  v.setBigUint64(48, BigInt(size), true) // attr.size
  v.setUint32(100, 0o100644, true) // attr.mode
  return b
}
const u64 = (b: Uint8Array, off: number) => Number(new DataView(b.buffer, b.byteOffset).getBigUint64(off, true))

const attrBody = (ino: number) => new Uint8Array(104).map((_, k) => (ino * 7 + k) & 0xff)

/** Publishes the attributes of inodes `step`·k for k in [2, 2 + count), then asks for each: every
 *  answer given must be that inode's own. Returns how many were given. */
function publishAttrs(cache: AnswerCache, answer: Answer, count: number, step: number): number {
  for (let k = 2; k < 2 + count; k++) cache.putAttr(cache.epoch, k * step, attrBody(k))
  const out = new Uint8Array(256)
  let given = 0
  for (let k = 2; k < 2 + count; k++) {
    if (answer(request(OPCODE.GETATTR, k * step, new Uint8Array(16)), 56, out) === 0) continue
    given++
    assert.equal([...out.subarray(16, 120)], [...attrBody(k)], `inode ${k}`)
  }
  return given
}

/** Publishes LOOKUPs of `${prefix}k` in `parent` → inode `base` + k, then asks for each: every
 *  answer given must name that inode. Returns how many were given. */
function publishEntries(cache: AnswerCache, answer: Answer, parent: number, prefix: string, count: number, base: number): number {
  for (let k = 0; k < count; k++) cache.putEntry(cache.epoch, parent, new TextEncoder().encode(`${prefix}${k}`), entryOut(base + k, k))
  const out = new Uint8Array(256)
  let given = 0
  for (let k = 0; k < count; k++) {
    const req = lookupReq(parent, `${prefix}${k}`)
    if (answer(req, req.length, out) === 0) continue
    given++
    assert.is(u64(out, 16), base + k, `${prefix}${k}`)
  }
  return given
}

test('the answerer repeats published GETATTR/LOOKUP/end-of-directory replies, with the asker\'s unique, until the epoch moves', () => {
  const cache = new AnswerCache({ firstSlots: 1024, maxAttrSlots: 1024, maxEntrySlots: 1024 })
  const answer = makeAnswerer(cache.buffer, cache.addReader())
  const out = new Uint8Array(256)
  const ask = (req: Uint8Array) => answer(req, req.length, out)

  const getattr = request(OPCODE.GETATTR, 5, new Uint8Array(16))
  assert.is(ask(getattr), 0, 'nothing published yet')
  const body = new Uint8Array(104).map((_, i) => i)
  cache.putAttr(cache.epoch, 5, body)
  assert.is(ask(getattr), 16 + 104)
  assert.is(u64(out, 8), u64(getattr, 8), 'the reply carries the request\'s unique')
  assert.equal([...out.subarray(16, 120)], [...body])
  assert.is(ask(request(OPCODE.GETATTR, 6, new Uint8Array(16))), 0, 'another inode')

  cache.putEntry(cache.epoch, 1, new TextEncoder().encode('a.txt'), entryOut(7, 42))
  assert.is(ask(lookupReq(1, 'a.txt')), 16 + 128)
  assert.is(u64(out, 16), 7)
  const big = 0x1234_5678_9abc // inode numbers are 48-bit path hashes in the mount
  cache.putAttr(cache.epoch, big, body)
  assert.is(ask(request(OPCODE.GETATTR, big, new Uint8Array(16))), 120)
  assert.is(ask(request(OPCODE.GETATTR, big % 2 ** 32, new Uint8Array(16))), 0, 'same low 32 bits, another inode')
  assert.is(ask(lookupReq(1, 'a.tx')), 0, 'another name')
  assert.is(ask(lookupReq(2, 'a.txt')), 0, 'another directory')

  cache.putDirEnd(cache.epoch, 9, 5)
  assert.is(ask(readdirReq(OPCODE.READDIRPLUS, 9, 5)), 16, 'empty reply: end of directory')
  assert.is(ask(readdirReq(OPCODE.READDIR, 9, 5)), 16, 'either flavour')
  assert.is(ask(readdirReq(OPCODE.READDIRPLUS, 9, 4)), 0, 'not at the end')
  assert.is(ask(request(OPCODE.GETATTR, 9, new Uint8Array(16))), 0, 'a directory end alone says nothing of attributes')
  cache.putAttr(cache.epoch, 9, body)
  assert.is(ask(request(OPCODE.GETATTR, 9, new Uint8Array(16))), 120, 'attributes join the end')
  assert.is(ask(readdirReq(OPCODE.READDIR, 9, 5)), 16, 'and the end stays')
  cache.putDirEnd(cache.epoch, 9, 6)
  assert.is(ask(readdirReq(OPCODE.READDIR, 9, 6)), 16)
  assert.is(ask(request(OPCODE.GETATTR, 9, new Uint8Array(16))), 120, 'and the attributes stay')

  const stale = cache.epoch
  cache.bump()
  assert.is(ask(getattr), 0)
  assert.is(ask(lookupReq(1, 'a.txt')), 0)
  assert.is(ask(readdirReq(OPCODE.READDIRPLUS, 9, 5)), 0)
  cache.putAttr(stale, 5, body)
  assert.is(ask(getattr), 0, 'a reply computed before the change is not published')
  assert.is(ask(request(OPCODE.SETATTR, 5, new Uint8Array(88))), 0, 'changing requests always go to the main thread')
})

test('a table too small for what is published evicts, and never answers with another key\'s reply', () => {
  const cache = new AnswerCache({ firstSlots: 16, maxAttrSlots: 64, maxEntrySlots: 16 })
  const answer = makeAnswerer(cache.buffer, cache.addReader())
  const hits = publishAttrs(cache, answer, 2998, 0x1_0001)
  assert.ok(hits >= 56 && hits <= 64, `the last ones published stay (${hits} of 64 slots)`)
  publishEntries(cache, answer, 1, 'n', 100, 100)
})

test('the attribute table grows with what is published, and keeps what it held', () => {
  const cache = new AnswerCache({ firstSlots: 16, maxAttrSlots: 4096, maxEntrySlots: 1024 })
  const answer = makeAnswerer(cache.buffer, cache.addReader())
  // A key has two buckets, and only when both are full does one evict (a cache, not a map).
  const hits = publishAttrs(cache, answer, 2000, 0x1_0003)
  assert.ok(hits >= 1900, `answers survive the doublings (${hits} of 2000)`)
  const found = publishEntries(cache, answer, 3, 'name-', 600, 1000)
  assert.ok(found >= 500, `the entry table grows too (${found} of 600)`)
  cache.drain()
  cache.bump()
  assert.is(answer(request(OPCODE.GETATTR, 5 * 0x1_0003, new Uint8Array(16)), 56, new Uint8Array(256)), 0)
})

test('LOOKUPs answered by a reader thread are taken out of FORGETs before the file system sees them', () => {
  const cache = new AnswerCache({ firstSlots: 1024, maxAttrSlots: 1024, maxEntrySlots: 1024 })
  const answer = makeAnswerer(cache.buffer, cache.addReader())
  const out = new Uint8Array(256)
  const big = 0x0abc_0000_0012
  cache.putEntry(cache.epoch, 1, new TextEncoder().encode('f'), entryOut(big, 1))
  for (let i = 0; i < 3; i++) assert.is(answer(lookupReq(1, 'f'), 42, out), 144)
  cache.drain()
  assert.is(cache.forgotten(big, 5), 2, 'of 5 references, 3 were lent by the reader')
  assert.is(cache.forgotten(big, 4), 4)
})

test('a reader stops answering LOOKUPs while its queue of lent references is full, and resumes once drained', () => {
  const cache = new AnswerCache({ firstSlots: 64, maxAttrSlots: 64, maxEntrySlots: 64 })
  const answer = makeAnswerer(cache.buffer, cache.addReader())
  const out = new Uint8Array(256)
  cache.putEntry(cache.epoch, 1, new TextEncoder().encode('q'), entryOut(77, 1))
  let given = 0
  while (answer(lookupReq(1, 'q'), 42, out) !== 0) given++
  assert.ok(given > 1000 && given < 5000, `${given} answers before the queue filled`)
  cache.drain()
  assert.is(answer(lookupReq(1, 'q'), 42, out), 144, 'answers again after a drain')
  cache.drain()
  assert.is(cache.forgotten(77, given + 2), 1, 'every answer given was counted, none twice')
})

test('session: a stable reply is published; a change, or a reply computed while one was under way, is not repeated', async () => {
  const cache = new AnswerCache({ firstSlots: 1024, maxAttrSlots: 1024, maxEntrySlots: 1024 })
  const answer = makeAnswerer(cache.buffer, cache.addReader())
  const out = new Uint8Array(256)
  let size = 10
  let release: (() => void) | undefined
  const fs: R.RawFileSystem = {
    async getattr(_c, i) {
      const attr = { ino: i.ino, mode: 0o100644, size }
      if (i.ino === 3) await new Promise<void>((r) => { release = r })
      return { attrValid: 1, attr, stable: true }
    },
    async setattr(_c, i) {
      size = i.size ?? size
      return { attrValid: 1, attr: { ino: i.ino, mode: 0o100644, size } }
    },
  }
  const session = new FuseSession(fs, { write: () => {}, log: () => {}, answers: cache })
  const getattr = (ino: number) => request(OPCODE.GETATTR, ino, new Uint8Array(16))
  await session.dispatch(getattr(2))
  assert.is(answer(getattr(2), 56, out), 120)
  assert.is(u64(out, 16 + 16 + 8), 10, 'size from the published reply')
  const setattr = new Uint8Array(88)
  const sv = new DataView(setattr.buffer)
  sv.setUint32(0, 1 << 3, true) // FATTR_SIZE
  sv.setBigUint64(16, 99n, true)
  await session.dispatch(request(OPCODE.SETATTR, 2, setattr))
  assert.is(answer(getattr(2), 56, out), 0, 'the SETATTR retired it')
  // GETATTR of 3 starts, a change runs and ends, then GETATTR of 3 finishes: not published.
  const slow = session.dispatch(getattr(3))
  await new Promise((r) => setTimeout(r, 5))
  await session.dispatch(request(OPCODE.SETATTR, 2, setattr))
  release!()
  await slow
  assert.is(answer(getattr(3), 56, out), 0)
})

test('mount: answers given by reader threads never go stale, and they really are given', async () => {
  const fs = new MemFs({ timeout: 0 })
  await withMount(fs, async (mnt) => {
    await sh('echo one > f && mkdir d && : > d/x', { cwd: mnt })
    // 200 stats of the same path: with 0 s timeouts each is a LOOKUP (+ GETATTR) in the kernel.
    await sh('for i in $(seq 200); do stat -c %s f >/dev/null; done', { cwd: mnt })
    const lookups = fs.calls.get('lookup') ?? 0
    assert.ok(lookups < 100, `reader threads answered most LOOKUPs (the file system saw ${lookups})`)
    assert.is(await sh('stat -c %s f', { cwd: mnt }), '4\n')
    await sh('echo two >> f', { cwd: mnt })
    assert.is(await sh('stat -c %s f', { cwd: mnt }), '8\n', 'a WRITE shows at once')
    await sh('chmod 600 f', { cwd: mnt })
    assert.is(await sh('stat -c %a f', { cwd: mnt }), '600\n')
    await sh('truncate -s 1 f', { cwd: mnt })
    assert.is(await sh('stat -c %s f', { cwd: mnt }), '1\n')
    await sh('mv f g', { cwd: mnt })
    assert.is(await sh('ls', { cwd: mnt }), 'd\ng\n')
    assert.is(await sh('stat f 2>&1 || true', { cwd: mnt }).then((s) => /No such file/.test(s)), true)
    assert.is(await sh('ls d; ls d', { cwd: mnt }), 'x\nx\n')
    await sh(': > d/y && rm d/x', { cwd: mnt })
    assert.is(await sh('ls d', { cwd: mnt }), 'y\n', 'a listing after changes is new')
    await sh('setfattr -n user.k -v v g', { cwd: mnt })
    assert.match(await sh('getfattr -n user.k g', { cwd: mnt }), /user.k="v"/)
    await sh('rm g', { cwd: mnt })
    assert.is(await sh('ls', { cwd: mnt }), 'd\n')
  })
})

test('mount: lookup counts settle to zero when the kernel forgets inodes that reader threads looked up', async () => {
  const fs = new MemFs({ timeout: 0 })
  await withMount(fs, async (mnt) => {
    await sh('mkdir -p a/b && for i in $(seq 20); do echo $i > a/b/f$i; done', { cwd: mnt })
    await sh('for k in $(seq 10); do for i in $(seq 20); do stat a/b/f$i > /dev/null; done; done', { cwd: mnt })
    assert.ok((fs.calls.get('lookup') ?? 0) < 150, `reader threads answered LOOKUPs (${fs.calls.get('lookup')} reached the file system)`)
    // Dropping the dentry and inode caches makes the kernel FORGET every inode it holds.
    await sh('sync; echo 2 > /proc/sys/vm/drop_caches')
    for (let i = 0; i < 100 && [...fs.nodes.values()].some((n) => n.ino !== 1 && n.lookups !== 0); i++) {
      await new Promise((r) => setTimeout(r, 20))
    }
    const off = [...fs.nodes.values()].filter((n) => n.ino !== 1 && n.lookups !== 0).map((n) => `${n.ino}:${n.lookups}`)
    assert.equal(off, [], 'every inode but the root is back at 0 references')
    assert.is(await sh('cat a/b/f7', { cwd: mnt }), '7\n', 'and the tree still works')
  })
})

test.run()
