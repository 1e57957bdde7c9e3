// Binary files in `scorpio diff` come as Git binary patches: real `git apply` (and `git apply -R`)
// on a checkout of the base reproduces the workspace byte for byte.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { noise as randomBytes } from '../helpers/bytes.ts'
import { edit, makeEnv, mirrorTree, sh, treeOfDir } from './_env.ts'

/** Incompressible bytes with a NUL early on, so both sides of a diff are binary. */
function noise(n: number, seed: number): Uint8Array {
  const out = randomBytes(n, seed)
  out[3] = 0
  return out
}

test('binary add, modify (delta and literal), delete and exec-bit change apply with git apply, forwards and backwards', async () => {
  const env = await makeEnv()
  try {
    const base = new Uint8Array(readFileSync(join(env.mirror, 'data/blob.bin')))
    // a small edit in the middle of a large incompressible file: a delta hunk is far smaller
    const big = noise(60000, 7)
    edit.write(env, 'assets/big.bin', big)
    const edited = big.slice()
    edited.set(noise(40, 99), 30000)
    // base file rewritten completely: a literal hunk; then a NUL-only file and an empty one
    edit.write(env, 'data/blob.bin', Uint8Array.from([...base.slice(0, 100).reverse(), 0, 1, 2]))
    edit.write(env, 'assets/zeros.bin', new Uint8Array(5000), true)
    edit.write(env, 'assets/one.bin', Uint8Array.from([0]))
    const diff1 = await env.ws.diff()
    assert.match(diff1, /^GIT binary patch$/m)
    assert.match(diff1, /^index 0{40}\.\.[0-9a-f]{40}$/m, 'full ids for an added binary')
    assert.match(diff1, /^literal \d+$/m)
    assert.not.match(diff1, /^Binary files/m)
    const co = join(env.dir, 'apply')
    sh(env.dir, 'git', ['clone', '-q', env.repo.path, co])
    writeFileSync(join(env.dir, 'p1.diff'), diff1)
    sh(co, 'git', ['apply', '--index', join(env.dir, 'p1.diff')])
    assert.is(treeOfDir(co), mirrorTree(env), 'git apply reproduces the workspace')

    // Commit that, then change the large file a little and remove another: the modified large
    // file must come as a delta, and the patch must apply on top of the committed state.
    await env.ws.commit({ message: 'binaries', author: 'A <a@example.com>' })
    sh(co, 'git', ['-c', 'user.name=A', '-c', 'user.email=a@example.com', 'commit', '-q', '-m', 'binaries'])
    edit.write(env, 'assets/big.bin', edited)
    edit.remove(env, 'assets/one.bin')
    const diff2 = await env.ws.diff()
    assert.match(diff2, /^delta \d+$/m, 'a small change to a large file is a delta')
    assert.match(diff2, /^deleted file mode 100644\nindex [0-9a-f]{40}\.\.0{40}\nGIT binary patch$/m)
    assert.ok(diff2.length < 8000, `the delta patch is small (${diff2.length} bytes)`)
    writeFileSync(join(env.dir, 'p2.diff'), diff2)
    sh(co, 'git', ['apply', '--index', join(env.dir, 'p2.diff')])
    assert.is(treeOfDir(co), mirrorTree(env), 'git apply of the delta reproduces the workspace')
    assert.equal(new Uint8Array(readFileSync(join(co, 'assets/big.bin'))), edited)
    const back = spawnSync('git', ['apply', '-R', '--index', join(env.dir, 'p2.diff')], { cwd: co })
    assert.is(back.status, 0, back.stderr.toString())
    assert.equal(new Uint8Array(readFileSync(join(co, 'assets/big.bin'))), big, 'git apply -R restores the old bytes')
  } finally {
    await env.close()
  }
})

test.run()
