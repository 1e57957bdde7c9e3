// diffRawTrees against `git diff-tree` on trees Git itself wrote (git mktree sorts them), including
// the names whose order depends on Git's "a directory sorts as name/" rule.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { diffRawTrees } from '../../lib/git/tree_diff.ts'

function gitIn(dir: string, args: string[], input?: string): string {
  return execFileSync('git', args, { cwd: dir, input }).toString()
}

test('same pairs as git diff-tree, with file/dir name collisions and prefixes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tree-diff-'))
  try {
    gitIn(dir, ['init', '-q', '--bare'])
    const blob = (s: string) => gitIn(dir, ['hash-object', '-w', '--stdin'], s).trim()
    const sub = (s: string) => gitIn(dir, ['mktree'], `100644 blob ${blob(s)}\tx\n`).trim()
    const mk = (rows: [string, string, string][]) =>
      gitIn(dir, ['mktree'], rows.map(([mode, oid, name]) => `${mode} ${mode === '040000' ? 'tree' : 'blob'} ${oid}\t${name}\n`).join('')).trim()
    const a = mk([
      ['100644', blob('1'), 'a'],
      ['100644', blob('2'), 'a.b'],
      ['040000', sub('3'), 'a-dir'],
      ['100644', blob('4'), 'same'],
      ['100755', blob('5'), 'mode'],
      ['040000', sub('6'), 'gone'],
      ['100644', blob('7'), 'z'],
    ])
    const b = mk([
      ['040000', sub('1'), 'a'], // file -> dir of the same name: sorts as "a/"
      ['100644', blob('2'), 'a.b'],
      ['040000', sub('3b'), 'a-dir'],
      ['100644', blob('4'), 'same'],
      ['100644', blob('5'), 'mode'],
      ['100644', blob('new'), 'new'],
      ['100644', blob('7b'), 'z'],
    ])
    const raw = (oid: string) => new Uint8Array(execFileSync('git', ['cat-file', 'tree', oid], { cwd: dir }))
    const pairs = diffRawTrees(raw(a), a, raw(b), b)!
    assert.ok(pairs, 'sorted trees walk')
    const ours = pairs.map((p) => `${(p.a ?? p.b)!.name} ${p.a?.oid ?? '-'} ${p.b?.oid ?? '-'}`).sort()
    const theirs: string[] = []
    for (const line of gitIn(dir, ['diff-tree', '--no-renames', a, b]).split('\n').filter(Boolean)) {
      const [meta, name] = line.split('\t')
      const [, , oa, ob] = meta.split(' ')
      theirs.push(`${name} ${/^0+$/.test(oa) ? '-' : oa} ${/^0+$/.test(ob) ? '-' : ob}`)
    }
    // Git reports a file that became a directory (or the reverse) as a deletion and an addition too.
    assert.equal(ours, theirs.sort())
    assert.equal(diffRawTrees(raw(a), a, raw(a), a), [], 'a tree against itself')
    assert.is(diffRawTrees(raw(a), a, new Uint8Array(), 'empty')!.length, 7, 'against the empty tree')
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('a tree out of Git order is reported (undefined) so the caller can compare by name', () => {
  const entry = (name: string, byte: number) => Buffer.concat([Buffer.from(`100644 ${name}\0`), Buffer.alloc(20, byte)])
  const unsorted = Buffer.concat([entry('b', 1), entry('a', 2)])
  const sorted = Buffer.concat([entry('a', 2), entry('b', 1)])
  assert.is(diffRawTrees(unsorted, 'u', sorted, 's'), undefined)
  assert.is(diffRawTrees(sorted, 's', Buffer.concat([entry('a', 2), entry('a', 2)]), 'dup'), undefined, 'a duplicate name')
})

test.run()
