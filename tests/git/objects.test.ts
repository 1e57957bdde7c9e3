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

test.run()
