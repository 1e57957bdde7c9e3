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

test.run()
