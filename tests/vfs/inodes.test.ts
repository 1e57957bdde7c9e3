// The inode table's lookup counts under the sequences that broke Mega's client: a path deleted and
// re-created while the kernel still holds the old inode, then a late FORGET of the old one.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { InodeTable, pathIno, ROOT_INO } from '../../lib/vfs/mod.ts'

test('ids are a stable hash of the path; the root is 1', () => {
  assert.is(pathIno(''), ROOT_INO)
  assert.is(pathIno('src/a.ts'), pathIno('src/a.ts'))
  assert.is.not(pathIno('src/a.ts'), pathIno('src/b.ts'))
  assert.ok(Number.isSafeInteger(pathIno('x')) && pathIno('x') > 1)
  const t = new InodeTable()
  assert.is(t.ref('src/a.ts').ino, pathIno('src/a.ts'), 'same id in a new table (a remount)')
})

test('delete + re-create while the old inode is alive: new id, late FORGET leaves the new one', () => {
  const t = new InodeTable()
  const old = t.ref('out/x.o')
  t.ref('out/x.o')
  assert.is(old.nlookup, 2)
  t.detach('out/x.o') // unlink
  const fresh = t.ref('out/x.o') // create again, kernel still holds `old`
  assert.is.not(fresh.ino, old.ino)
  t.forget(old.ino, 2)
  assert.is(t.get(old.ino), undefined)
  assert.is(t.get(fresh.ino), fresh)
  assert.is(t.byPath.get('out/x.o'), fresh, 'the path still resolves to the live inode')
  t.forget(fresh.ino, 1)
  assert.is(t.size, 1, 'only the root is left')
})

test('partial FORGETs count down exactly; BATCH of many', () => {
  const t = new InodeTable()
  const n = t.ref('a')
  for (let i = 0; i < 9; i++) t.ref('a')
  t.forget(n.ino, 4)
  assert.is(t.get(n.ino)?.nlookup, 6)
  t.forget(n.ino, 6)
  assert.is(t.get(n.ino), undefined)
  t.forget(n.ino, 1) // unknown: ignored, no crash
  t.forget(ROOT_INO, 100)
  assert.ok(t.get(ROOT_INO))
})

test('rename moves the subtree; exchange swaps; a forgotten child does not resurrect', () => {
  const t = new InodeTable()
  const d = t.ref('d')
  const c = t.ref('d/c')
  const e = t.ref('e')
  t.move('d', 'moved/d')
  assert.is(d.path, 'moved/d')
  assert.is(c.path, 'moved/d/c')
  assert.is(t.byPath.get('d'), undefined)
  t.exchange('moved/d', 'e')
  assert.is(d.path, 'e')
  assert.is(e.path, 'moved/d')
  assert.is(c.path, 'e/c')
  t.forget(c.ino, 1)
  assert.is(t.byPath.get('e/c'), undefined)
})

test('remembered attributes come back exactly; lower-like entries share one object for the common fields', () => {
  const t = new InodeTable()
  const common = { nlink: 1, uid: 1000, gid: 1000, rdev: 0, blksize: 4096, atime: 1700000000, atimensec: 5, mtime: 1700000000, mtimensec: 5, ctime: 1700000000, ctimensec: 5 }
  const a = t.ref('a.txt')
  const b = t.ref('dir/b.bin')
  const attrA = { ino: a.ino, mode: 0o100644, size: 1234, blocks: 3, ...common }
  const attrB = { ino: b.ino, mode: 0o100755, size: 3_000_000_000, blocks: Math.ceil(3_000_000_000 / 512), ...common }
  t.remember(a, attrA)
  t.remember(b, attrB)
  assert.equal(t.lastAttr(a), attrA)
  assert.equal(t.lastAttr(b), attrB)
  assert.is(a.attr, undefined, 'kept compact')
  assert.is(a.shared, b.shared, 'one shared object')
  // Upper entries: own times and blocks that are not ceil(size / 512) are kept whole.
  const u = t.ref('upper.txt')
  const attrU = { ino: u.ino, mode: 0o100600, size: 10, blocks: 8, ...common, mtime: 1800000000 }
  t.remember(u, attrU)
  assert.equal(t.lastAttr(u), attrU)
  assert.is(u.attr, attrU)
  // Re-remembering switches form; a never-answered inode has none.
  t.remember(u, { ...attrU, blocks: 1 })
  assert.equal(t.lastAttr(u), { ...attrU, blocks: 1 })
  assert.is(u.attr, undefined)
  assert.is(t.lastAttr(t.ref('new')), undefined)
  // Many different shared parts (upper entries) never break earlier ones.
  for (let i = 0; i < 10; i++) t.remember(t.ref(`x${i}`), { ino: 9, mode: 0o100644, size: 0, blocks: 0, ...common, mtime: i })
  assert.equal(t.lastAttr(a), attrA)
})

test.run()
