import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { parseCommit, serializeCommit, parseTag, serializeTag } from '../../lib/git/commit.ts'
import { hashObject } from '../../lib/git/sha1.ts'
import { checkEntryName, checkTree, parseTree, serializeTree } from '../../lib/git/tree.ts'
import { git, lsTree, makeBareRepo } from '../helpers/repos.ts'

test('trees and commits round-trip byte for byte with git', async () => {
  const repo = await makeBareRepo()
  try {
    for (const row of lsTree(repo.path, 'main').filter((r) => r.type === 'tree').concat([{ mode: '', type: 'tree', oid: git(repo.path, ['rev-parse', 'main^{tree}']).trim(), path: '' }])) {
      const body = execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'tree', row.oid])
      const entries = parseTree(body, row.oid)
      assert.is(hashObject('tree', serializeTree(entries.reverse())), row.oid)
    }
    const body = execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'commit', 'main'])
    const c = parseCommit(body, repo.head)
    assert.is(hashObject('commit', serializeCommit(c)), repo.head)
    const modes = new Set(parseTree(execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'tree', 'main^{tree}']), 'root').map((e) => e.mode))
    assert.ok(modes.has('120000') && modes.has('40000'))
    git(repo.path, ['tag', '-a', 'v1', '-m', 'release\n', 'main'], undefined)
    const tagOid = git(repo.path, ['rev-parse', 'v1']).trim()
    const tagBody = execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'tag', tagOid])
    const t = parseTag(tagBody, tagOid)
    assert.is(t.object, repo.head)
    assert.is(hashObject('tag', serializeTag(t)), tagOid)
  } finally {
    repo.cleanup()
  }
})

test('unsafe entry names are refused', () => {
  for (const bad of ['', '.', '..', 'a/b', 'a\0b', '.git', '.GIT', '.Git']) {
    assert.throws(() => checkEntryName(bad), /could escape or confuse/)
  }
  for (const ok of ['.gitignore', 'git', '...', 'a b', 'ünï']) checkEntryName(ok)
})

test('checkTree reads a tree inside a larger buffer: subtree ids at their offsets, hostile names refused', () => {
  const id = (n: number) => Buffer.alloc(20, n)
  const tree = (entries: [string, string, Buffer][]) => Buffer.concat(entries.flatMap(([m, n, o]) => [Buffer.from(`${m} ${n}\0`), o]))
  const body = tree([
    ['100644', 'a.txt', id(1)],
    ['40000', 'dir', id(2)],
    ['100755', 'run', id(3)],
    ['040000', 'old', id(4)],
    ['120000', 'link', id(5)],
    ['160000', 'sub', id(6)],
  ])
  const junk = Buffer.from('40000 x\0')
  const buf = Buffer.concat([junk, body, junk])
  const seen: number[] = []
  checkTree(buf, 't', (b, at) => void seen.push(b[at]), junk.length, junk.length + body.length)
  assert.equal(seen, [2, 4])
  for (const bad of ['..', '.', 'a/b', '.GiT', '']) {
    const evil = Buffer.concat([junk, tree([['100644', 'ok', id(1)], ['100644', bad, id(7)]]), junk])
    assert.throws(() => checkTree(evil, 't', () => {}, junk.length, evil.length - junk.length), /could escape or confuse/, bad)
  }
  assert.throws(() => checkTree(buf, 't', () => {}, junk.length, junk.length + body.length - 3), /malformed/)
  assert.throws(() => checkTree(tree([['100999', 'x', id(1)]]), 't', () => {}), /unknown mode/)
})

test('parseTree: every mode, names in any encoding, a tree inside a larger plain Uint8Array, hostile and malformed trees refused', () => {
  const id = (n: number) => Buffer.alloc(20, n)
  const raw = (mode: string, name: Buffer | string, o: Buffer) => Buffer.concat([Buffer.from(`${mode} `), Buffer.from(name), Buffer.from([0]), o])
  const body = Buffer.concat([
    raw('100644', 'a.txt', id(1)),
    raw('40000', 'dir', id(2)),
    raw('100755', 'run', id(3)),
    raw('040000', 'old', id(4)),
    raw('120000', 'link', id(5)),
    raw('160000', 'sub', id(6)),
    raw('100664', 'group', id(7)),
    raw('100775', 'groupx', id(8)),
    raw('100644', 'ünï ✓', id(9)),
    raw('100644', Buffer.from([0x61, 0xff, 0x62]), id(10)),
    raw('100644', '.gitignore', id(11)),
    raw('100644', '...', id(12)),
  ])
  // Inside a larger buffer, as a plain Uint8Array view (not a Buffer).
  const big = new Uint8Array(body.length + 10)
  big.set(body, 5)
  const entries = parseTree(new Uint8Array(big.buffer, 5, body.length), 't')
  assert.equal(entries, [
    { mode: '100644', name: 'a.txt', oid: '01'.repeat(20) },
    { mode: '40000', name: 'dir', oid: '02'.repeat(20) },
    { mode: '100755', name: 'run', oid: '03'.repeat(20) },
    { mode: '40000', name: 'old', oid: '04'.repeat(20) },
    { mode: '120000', name: 'link', oid: '05'.repeat(20) },
    { mode: '160000', name: 'sub', oid: '06'.repeat(20) },
    { mode: '100644', name: 'group', oid: '07'.repeat(20) },
    { mode: '100755', name: 'groupx', oid: '08'.repeat(20) },
    { mode: '100644', name: 'ünï ✓', oid: '09'.repeat(20) },
    { mode: '100644', name: 'a\ufffdb', oid: '0a'.repeat(20) },
    { mode: '100644', name: '.gitignore', oid: '0b'.repeat(20) },
    { mode: '100644', name: '...', oid: '0c'.repeat(20) },
  ])
  for (const bad of ['..', '.', 'a/b', '.GiT', '.git', '', 'x/', Buffer.from('é/x')]) {
    assert.throws(() => parseTree(Buffer.concat([raw('100644', 'ok', id(1)), raw('100644', bad, id(7))]), 't'), /could escape or confuse/, String(bad))
  }
  assert.throws(() => parseTree(body.subarray(0, body.length - 3), 't'), /malformed \(truncated entry\)/)
  assert.throws(() => parseTree(Buffer.from('100644'), 't'), /malformed \(no space after mode\)/)
  assert.throws(() => parseTree(raw('100999', 'x', id(1)), 't'), /unknown mode/)
  assert.equal(parseTree(new Uint8Array(0)), [])
})

test.run()
