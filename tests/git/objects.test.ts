import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { parseCommit, serializeCommit, parseTag, serializeTag } from '../../lib/git/commit.ts'
import { hashObject } from '../../lib/git/sha1.ts'
import { checkEntryName, parseTree, serializeTree } from '../../lib/git/tree.ts'
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

test.run()
