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
  assert.is(t.ref('src/a.ts'), pathIno('src/a.ts'), 'same id in a new table (a remount)')
  assert.is(t.ref('src'), pathIno('src'), 'a parent registered after its child gets its own id')
})

test('delete + re-create while the old inode is alive: new id, late FORGET leaves the new one', () => {
  const t = new InodeTable()
  const old = t.ref('out/x.o')
  t.ref('out/x.o')
  assert.is(t.nlookup(old), 2)
  t.detach('out/x.o') // unlink
  assert.ok(t.isDetached(old))
  assert.is(t.path(old), 'out/x.o', 'a detached inode keeps its last path')
  const fresh = t.ref('out/x.o') // create again, kernel still holds `old`
  assert.is.not(fresh, old)
  t.forget(old, 2)
  assert.not.ok(t.has(old))
  assert.ok(t.has(fresh))
  assert.is(t.lookup('out/x.o'), fresh, 'the path still resolves to the live inode')
  t.forget(fresh, 1)
  assert.is(t.size, 1, 'only the root is left')
  assert.is(t.lookup('out'), undefined)
})

test('partial FORGETs count down exactly; BATCH of many', () => {
  const t = new InodeTable()
  const n = t.ref('a')
  for (let i = 0; i < 9; i++) t.ref('a')
  t.forget(n, 4)
  assert.is(t.nlookup(n), 6)
  t.forget(n, 6)
  assert.not.ok(t.has(n))
  t.forget(n, 1) // unknown: ignored, no crash
  t.forget(ROOT_INO, 100)
  assert.ok(t.has(ROOT_INO))
})

test('rename moves the subtree; exchange swaps; a forgotten child does not resurrect', () => {
  const t = new InodeTable()
  const d = t.ref('d')
  const c = t.ref('d/c')
  const e = t.ref('e')
  t.move('d', 'moved/d')
  assert.is(t.path(d), 'moved/d')
  assert.is(t.path(c), 'moved/d/c')
  assert.is(t.lookup('d'), undefined)
  assert.is(t.lookup('d/c'), undefined)
  assert.is(t.lookup('moved/d/c'), c)
  t.exchange('moved/d', 'e')
  assert.is(t.path(d), 'e')
  assert.is(t.path(e), 'moved/d')
  assert.is(t.path(c), 'e/c')
  t.forget(c, 1)
  assert.is(t.lookup('e/c'), undefined)
  const c2 = t.ref('e/c')
  assert.is(c2, pathIno('e/c'))
  for (const ino of [c2, d, e]) t.forget(ino, 1)
  assert.is(t.size, 1)
  assert.is(t.records, 1, 'nothing kept for forgotten entries')
})

test('a forgotten directory stays as the parent of live entries beneath it', () => {
  const t = new InodeTable()
  const d = t.ref('d')
  const f = t.ref('d/e/f')
  t.forget(d, 1)
  assert.not.ok(t.has(d))
  assert.is(t.path(f), 'd/e/f')
  assert.is(t.lookup('d/e/f'), f)
  assert.is(t.ref('d'), d, 'looked up again: the same id')
  t.move('d', 'x')
  assert.is(t.path(f), 'x/e/f')
  t.forget(f, 1)
  t.forget(d, 1)
  assert.is(t.size, 1)
})

test('detachUnder: every live entry at and beneath the paths, nothing else', () => {
  const t = new InodeTable()
  const ids = ['a', 'a/b', 'a/b/c', 'a/bb', 'b', 'b/a'].map((p) => t.ref(p))
  const gone = t.detachUnder(['a/b', 'b/a', 'missing/x'])
  assert.equal(gone.sort(), [ids[1], ids[2], ids[5]].sort())
  assert.ok(t.isDetached(ids[2]))
  assert.not.ok(t.isDetached(ids[3]))
  assert.is(t.lookup('a/bb'), ids[3])
  assert.is(t.lookup('a/b/c'), undefined)
  assert.equal([...t.livePaths().keys()].sort(), ['', 'a', 'a/bb', 'b'])
})

test('many entries: random ref / forget / detach / rename agree with a plain model', () => {
  // The model: the previous table, one object per inode and two Maps.
  type Node = { ino: number; path: string; n: number }
  const byIno = new Map<number, Node>()
  const byPath = new Map<string, Node>()
  const t = new InodeTable()
  let seed = 7
  const rnd = (k: number) => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % k)
  const paths = Array.from({ length: 3000 }, (_, i) => `d${i % 7}/s${i % 13}/f${i}`)
  for (let step = 0; step < 60000; step++) {
    const op = rnd(10)
    const p = paths[rnd(paths.length)]
    if (op < 5) {
      const ino = t.ref(p)
      let node = byPath.get(p)
      if (!node) {
        node = { ino, path: p, n: 0 }
        assert.not.ok(byIno.has(ino), 'a fresh id is not in use')
        byIno.set(ino, node)
        byPath.set(p, node)
      }
      assert.is(ino, node.ino)
      node.n++
    } else if (op < 8) {
      const node = byPath.get(p)
      if (!node) continue
      const k = 1 + rnd(node.n)
      t.forget(node.ino, k)
      node.n -= k
      if (node.n === 0) {
        byIno.delete(node.ino)
        if (byPath.get(node.path) === node) byPath.delete(node.path)
      }
    } else if (op < 9) {
      const node = byPath.get(p)
      t.detach(p)
      if (node) byPath.delete(p)
    } else {
      // Rename a file to a free path.
      const to = `r${rnd(5)}/${p.split('/').pop()}`
      if (byPath.has(to) || !byPath.has(p)) continue
      t.move(p, to)
      const node = byPath.get(p)!
      byPath.delete(p)
      node.path = to
      byPath.set(to, node)
    }
  }
  assert.is(t.size, byIno.size + 1)
  assert.ok(t.records <= byIno.size + 1 + 12 + 7 * 14, 'records: live ones and their directories')
  for (const [ino, node] of byIno) {
    assert.is(t.nlookup(ino), node.n)
    assert.is(t.path(ino), node.path)
    assert.is(t.isDetached(ino), byPath.get(node.path) !== node)
  }
  for (const [path, node] of byPath) assert.is(t.lookup(path), node.ino)
  for (const node of byIno.values()) t.forget(node.ino, node.n)
  assert.is(t.size, 1)
  assert.is(t.records, 1)
})

test('remembered attributes come back exactly; lower-like entries share one part for the common fields', () => {
  const t = new InodeTable()
  const common = { nlink: 1, uid: 1000, gid: 1000, rdev: 0, blksize: 4096, atime: 1700000000, atimensec: 5, mtime: 1700000000, mtimensec: 5, ctime: 1700000000, ctimensec: 5 }
  const a = t.ref('a.txt')
  const b = t.ref('dir/b.bin')
  const attrA = { ino: a, mode: 0o100644, size: 1234, blocks: 3, ...common }
  const attrB = { ino: b, mode: 0o100755, size: 3_000_000_000, blocks: Math.ceil(3_000_000_000 / 512), ...common }
  t.remember(a, attrA)
  t.remember(b, attrB)
  assert.equal(t.lastAttr(a), attrA)
  assert.equal(t.lastAttr(b), attrB)
  assert.equal(t.attrStats(), { whole: 0, shared: 1 }, 'kept compact, one shared part')
  // Upper entries: own times and blocks that are not ceil(size / 512) are kept whole.
  const u = t.ref('upper.txt')
  const attrU = { ino: u, mode: 0o100600, size: 10, blocks: 8, ...common, mtime: 1800000000 }
  t.remember(u, attrU)
  assert.equal(t.lastAttr(u), attrU)
  assert.equal(t.attrStats(), { whole: 1, shared: 1 })
  // Re-remembering switches form; a never-answered inode has none.
  t.remember(u, { ...attrU, blocks: 1 })
  assert.equal(t.lastAttr(u), { ...attrU, blocks: 1 })
  assert.equal(t.attrStats(), { whole: 0, shared: 2 })
  assert.is(t.lastAttr(t.ref('new')), undefined)
  // Many different shared parts (upper entries) never break earlier ones.
  for (let i = 0; i < 10; i++) t.remember(t.ref(`x${i}`), { ino: 9, mode: 0o100644, size: 0, blocks: 0, ...common, mtime: i })
  assert.equal(t.lastAttr(a), attrA)
  // A forgotten inode's attributes go with it.
  t.forget(u, 1)
  for (let i = 0; i < 10; i++) t.forget(pathIno(`x${i}`), 1)
  assert.equal(t.attrStats(), { whole: 0, shared: 1 })
})

test('a walk down and sideways (and any other order) finds every directory: same ids, same paths', () => {
  const dirs: string[] = []
  for (let a = 0; a < 6; a++) for (let b = 0; b < 5; b++) for (let c = 0; c < 4; c++) dirs.push(`a${a}`, `a${a}/b${b}`, `a${a}/b${b}/c${c}`, `a${a}/b${b}/c${c}/d`)
  const paths = [...new Set(dirs)].flatMap((d) => [d, `${d}/f1`, `${d}/f2`])
  const walk = new InodeTable()
  const byPath = new Map<string, number>()
  for (const p of paths) byPath.set(p, walk.ref(p))
  for (const p of paths) {
    assert.is(walk.path(byPath.get(p)!), p)
    assert.is(walk.lookup(p), byPath.get(p))
  }
  // The same paths in a shuffled order, with names that share prefixes but are not parents.
  const shuffled = [...paths, 'a1/b1x', 'a1/b1x/y', 'a1/b', 'a1/b/q'].sort(() => Math.random() - 0.5)
  const other = new InodeTable()
  for (const p of shuffled) {
    const i = p.lastIndexOf('/')
    const ino = i < 0 ? other.refIn('', p, p) : other.refIn(p.slice(0, i), p.slice(i + 1), p)
    assert.is(other.path(ino), p)
    if (byPath.has(p)) assert.is(ino, byPath.get(p), p)
  }
  for (const p of shuffled) assert.ok(other.lookup(p), p)
  // After a rename the cached directory is not trusted.
  other.move('a2/b2', 'a2/b9')
  const moved = other.ref('a2/b9/c1/d/f1')
  assert.is(other.path(moved), 'a2/b9/c1/d/f1')
  assert.is(other.lookup('a2/b2/c1/d/f1'), undefined)
})

test('hard links: every name is one id; removing the name holding it hands it to another name', () => {
  const t = new InodeTable()
  const a = t.ref('d/a')
  assert.is(t.linkAs('e/b', a), a, 'the link is the same inode')
  assert.is(t.linkAs('d/c', a), a)
  assert.is(t.lookup('e/b'), a)
  assert.is(t.ref('e/b'), a, 'a lookup of another name counts on the same id')
  assert.is(t.nlookup(a), 4)
  t.detach('d/a') // unlink of the first name: the inode stays reachable
  assert.is(t.isDetached(a), false)
  assert.ok(['e/b', 'd/c'].includes(t.path(a)!), t.path(a))
  assert.is(t.lookup('d/a'), undefined)
  t.move('d/c', 'd/moved') // rename of one name
  t.detach('e/b')
  assert.is(t.path(a), 'd/moved')
  assert.is(t.lookup('d/moved'), a)
  const other = t.ref('x')
  t.move('x', 'd/moved') // a rename over the last name replaces it
  assert.is(t.isDetached(a), true)
  assert.is(t.lookup('d/moved'), other)
  t.forget(a, 4)
  assert.is(t.has(a), false)
  // forgetting the inode drops its other names: they get ids of their own again
  const f = t.ref('f')
  t.linkAs('g', f)
  t.forget(f, 2)
  const g = t.ref('g')
  assert.is.not(g, 0)
  assert.is(t.path(g), 'g')
  t.forget(g, 1)
  t.forget(other, 1)
  assert.is(t.records, 1, 'nothing left but the root')
})

test.run()
