// The pack worker's tree vouching (pack_scan.ts) against lib/git/tree.ts's checkTree: a tree it
// vouches for is one checkTree accepts, with the same directory ids; anything checkTree refuses
// (hostile names, odd modes, malformed entries) it never vouches for.
import { test } from 'uvu'
import { execFileSync } from 'node:child_process'
import * as assert from 'uvu/assert'
import { packScanModule } from '../../lib/git/pack_scan.ts'
import { checkTree } from '../../lib/git/tree.ts'
import { git, makeBareRepo, sampleFiles } from '../helpers/repos.ts'

const { vouchTree } = packScanModule()

function entry(mode: string, name: string | Uint8Array, id = 0x11): Buffer {
  return Buffer.concat([Buffer.from(`${mode} `), Buffer.from(name), Buffer.from([0]), Buffer.alloc(20, id)])
}

/** [vouched, its ids] and [checkTree accepts, its ids]. */
function both(tree: Uint8Array): { vouched: string[] | null; checked: string[] | null } {
  const out = new Uint8Array(tree.length + 40)
  const at = vouchTree(tree, 0, tree.length, out, 0)
  const vouched = at < 0 ? null : Array.from({ length: at / 20 }, (_, k) => Buffer.from(out.subarray(k * 20, k * 20 + 20)).toString('hex'))
  let checked: string[] | null = []
  try {
    checkTree(tree, 't', (b, a) => checked!.push(Buffer.from(b.subarray(a, a + 20)).toString('hex')))
  } catch {
    checked = null
  }
  return { vouched, checked }
}

test('real trees (modes 100644, 100755, 120000, 160000, 40000): vouched, same directory ids as checkTree', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(60) })
  try {
    const trees = git(repo.path, ['ls-tree', '-r', '-t', 'main']).split('\n').filter((l) => l.includes(' tree ')).map((l) => l.split(/\s+/)[2])
    trees.push(git(repo.path, ['rev-parse', 'main^{tree}']).trim())
    let dirs = 0
    for (const t of trees) {
      const r = both(new Uint8Array(execFileSync('git', ['--git-dir', repo.path, 'cat-file', 'tree', t])))
      assert.ok(r.vouched, `tree ${t} vouched`)
      assert.equal(r.vouched, r.checked)
      dirs += r.vouched!.length
    }
    assert.ok(dirs > 5)
  } finally {
    repo.cleanup()
  }
})

test('never vouches for what checkTree refuses, nor for unusual entries checkTree may accept', () => {
  const ok = entry('100644', 'a.txt')
  const cases: [string, Uint8Array][] = [
    ['..', entry('100644', '..')],
    ['.', entry('40000', '.')],
    ['.git', entry('40000', '.git')],
    ['.GIT', entry('100644', '.GIT')],
    ['.Git', entry('40000', '.Git')],
    ['a/b', entry('100644', 'a/b')],
    ['empty name', entry('100644', '')],
    ['unknown mode', entry('100645', 'x')],
    ['old mode 100664', entry('100664', 'x')],
    ['040000', entry('040000', 'd')],
    ['no space', Buffer.from('100644')],
    ['truncated id', entry('100644', 'x').subarray(0, 20)],
    ['short dot names', entry('100644', '.a')],
  ]
  for (const [what, bad] of cases) {
    const r = both(Buffer.concat([ok, bad, ok]))
    assert.is(r.vouched, null, what)
  }
  // The hostile names are refused by checkTree itself.
  for (const [what, bad] of cases.slice(0, 7)) assert.is(both(Buffer.concat([ok, bad])).checked, null, what)
  const good = Buffer.concat([entry('100644', 'a'), entry('40000', 'dir', 0x22), entry('100755', 'run'), entry('120000', 'link'), entry('160000', 'sub'), entry('40000', '.gitx', 0x33), entry('100644', '.abcde')])
  const r = both(good)
  assert.equal(r.vouched, ['22'.repeat(20), '33'.repeat(20)])
  assert.equal(r.vouched, r.checked)
})

test.run()
