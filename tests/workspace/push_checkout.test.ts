import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { commitFiles, git } from '../helpers/repos.ts'
import { AUTHOR, edit, makeEnv, materialize, mirrorTree, sh, treeOfDir } from './_env.ts'

test('push sends the commits; a fresh git clone equals the workspace, modes included', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'tool.sh', '#!/bin/sh\necho tool\n', true)
    edit.chmod(env, 'bin/run.sh', false)
    edit.symlink(env, 'l2', 'tool.sh')
    edit.remove(env, 'pkg/p1')
    edit.renameDir(env, 'pkg/p3', 'moved/p3')
    const c1 = await env.ws.commit({ message: 'one', author: AUTHOR })
    edit.write(env, 'second.txt', 'two\n')
    const c2 = await env.ws.commit({ message: 'two', author: AUTHOR })
    const r = await env.ws.push()
    assert.is(r.newOid, c2.commit)
    assert.is(r.oldOid, env.head)
    assert.is(r.commits, 2)
    assert.is(git(env.repo.path, ['rev-parse', 'refs/heads/main']).trim(), c2.commit)
    assert.is(git(env.repo.path, ['rev-parse', `${c2.commit}^`]).trim(), c1.commit)
    const clone = join(env.dir, 'fresh')
    sh(env.dir, 'git', ['clone', '-q', env.repo.path, clone])
    assert.is(treeOfDir(clone), mirrorTree(env))
    const view = await materialize(env)
    assert.is(treeOfDir(clone), treeOfDir(view))
    rmSync(view, { recursive: true, force: true })
    assert.is(sh(env.dir, 'git', ['--git-dir', env.repo.path, 'fsck', '--strict']).includes('error'), false)
    const log = await env.ws.log()
    assert.ok(log.every((e) => e.pushed))
    assert.is(env.ws.state.pushed, c2.commit)
    // pushing again is a no-op
    const again = await env.ws.push()
    assert.is(again.updated, false)
  } finally {
    await env.close()
  }
})

test('a non-fast-forward push is refused naming both commits; nothing local is lost; --force overwrites', async () => {
  const env = await makeEnv()
  try {
    const theirs = await commitFiles(env.repo.path, [{ path: 'theirs.txt', content: 'theirs\n' }], { parent: env.head })
    edit.write(env, 'mine.txt', 'mine\n')
    const mine = await env.ws.commit({ message: 'mine', author: AUTHOR })
    const err = await env.ws.push().then(() => undefined, (e: Error) => e)
    assert.ok(err, 'push must fail')
    assert.match(err!.message, /non-fast-forward/)
    assert.match(err!.message, new RegExp(theirs))
    assert.match(err!.message, new RegExp(mine.commit))
    assert.is(git(env.repo.path, ['rev-parse', 'refs/heads/main']).trim(), theirs)
    assert.is(env.ws.state.base, mine.commit)
    assert.is((await env.ws.log())[0].pushed, false)
    const f = await env.ws.push({ force: true })
    assert.is(f.newOid, mine.commit)
    assert.is(git(env.repo.path, ['rev-parse', 'refs/heads/main']).trim(), mine.commit)
  } finally {
    await env.close()
  }
})

test('push --ref to another branch', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'feature.txt', 'f\n')
    const c = await env.ws.commit({ message: 'feature', author: AUTHOR })
    await env.ws.push({ ref: 'refs/heads/feature' })
    assert.is(git(env.repo.path, ['rev-parse', 'refs/heads/feature']).trim(), c.commit)
    assert.is(git(env.repo.path, ['rev-parse', 'refs/heads/main']).trim(), env.head)
  } finally {
    await env.close()
  }
})

test('checkout between two commits: clean, refused with local edits, --force keeps non-conflicting edits', async () => {
  const env = await makeEnv()
  try {
    const second = await commitFiles(env.repo.path, [
      { path: 'README.md', content: '# second\n' },
      { path: 'pkg/p1/d1/file1.txt', content: 'changed upstream\n' },
      { path: 'added/up.txt', content: 'up\n' },
    ], { parent: env.head, branch: 'next', remove: ['pkg/p2/d2/file2.txt'] })
    // a redundant copy-up at a path the other commit changes must not hide the new content
    edit.copyUp(env, 'README.md')
    const r = await env.ws.checkout('next')
    assert.is(r.to, second)
    assert.is(r.files, 4)
    assert.ok(r.changedDirs.includes('pkg/p1/d1') && r.changedDirs.includes('') && r.changedDirs.includes('pkg/p2/d2'))
    assert.is(env.ws.state.base, second)
    assert.is(env.ws.state.ref, 'next')
    assert.equal((await env.ws.status()).changes, [])
    let view = await materialize(env)
    assert.is(readFileSync(join(view, 'README.md'), 'utf8'), '# second\n')
    assert.is(existsSync(join(view, 'pkg/p2/d2/file2.txt')), false)
    rmSync(view, { recursive: true, force: true })

    // back to main with local edits: refused, then forced
    edit.write(env, 'mine.txt', 'mine\n')
    writeFileSync(join(env.upper, 'README.md'), '# my readme\n')
    const err = await env.ws.checkout('main').then(() => undefined, (e: Error) => e)
    assert.match(String(err?.message), /uncommitted change/)
    assert.is(env.ws.state.base, second)
    const f = await env.ws.checkout('main', { force: true })
    assert.is(f.to, env.head)
    assert.equal(f.kept, ['mine.txt'])
    assert.equal(f.conflicts, ['README.md'])
    assert.is(readFileSync(join(f.backupDir!, 'README.md'), 'utf8'), '# my readme\n')
    assert.equal((await env.ws.status()).changes, [{ path: 'mine.txt', status: 'added' }])
    view = await materialize(env)
    assert.is(readFileSync(join(view, 'README.md'), 'utf8'), '# test repo\n')
    assert.is(readFileSync(join(view, 'mine.txt'), 'utf8'), 'mine\n')
    assert.is(existsSync(join(view, 'added/up.txt')), false)
    rmSync(view, { recursive: true, force: true })
    // by commit id
    const byId = await env.ws.checkout(second, { force: true })
    assert.is(byId.to, second)
  } finally {
    await env.close()
  }
})

test('checkout by HEAD~N, HEAD^ and abbreviated ids, as git users type them', async () => {
  const env = await makeEnv()
  try {
    const c1 = await commitFiles(env.repo.path, [{ path: 'one.txt', content: '1\n' }], { parent: env.head })
    const c2 = await commitFiles(env.repo.path, [{ path: 'two.txt', content: '2\n' }], { parent: c1 })
    assert.is((await env.ws.checkout('main')).to, c2)
    // HEAD is the workspace's base commit
    assert.is((await env.ws.checkout('HEAD~1')).to, c1)
    assert.is(env.ws.state.base, c1)
    assert.is(env.ws.state.ref, 'main')
    let view = await materialize(env)
    assert.is(existsSync(join(view, 'one.txt')), true)
    assert.is(existsSync(join(view, 'two.txt')), false)
    rmSync(view, { recursive: true, force: true })
    assert.is((await env.ws.checkout(c2.slice(0, 7))).to, c2)
    assert.is((await env.ws.checkout('HEAD^^')).to, env.head)
    assert.is((await env.ws.checkout(c1.slice(0, 8))).to, c1)
    view = await materialize(env)
    assert.is(readFileSync(join(view, 'one.txt'), 'utf8'), '1\n')
    rmSync(view, { recursive: true, force: true })
    const err = await env.ws.checkout('HEAD~5').then(() => undefined, (e: Error) => e)
    assert.match(String(err?.message), /"HEAD~5" goes past the history/)
    assert.is(env.ws.state.base, c1)
  } finally {
    await env.close()
  }
})

test('reset --hard and restore PATH (also inside a renamed directory)', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'README.md', 'x\n')
    edit.write(env, 'src/main.ts', 'y\n')
    edit.remove(env, 'pkg/p2')
    edit.renameDir(env, 'pkg/p3', 'moved/p3')
    edit.write(env, 'moved/p3/d1/file3.txt', 'edited in moved\n')
    await env.ws.restore(['README.md', 'pkg/p2'])
    execFileSync('git', ['checkout', '--', 'README.md', 'pkg/p2'], { cwd: env.mirror })
    let s = await env.ws.status()
    assert.ok(!s.changes.some((c) => c.path === 'README.md' || c.path.startsWith('pkg/p2/')))
    assert.ok(s.changes.some((c) => c.path === 'src/main.ts'))
    // restore a path under a renamed (origin) directory: only that file goes back to... nothing (it is new there)
    await env.ws.restore(['moved/p3/d1/file3.txt'])
    s = await env.ws.status()
    assert.ok(!s.changes.some((c) => c.path === 'moved/p3/d1/file3.txt'))
    assert.ok(s.changes.some((c) => c.path === 'moved/p3/d0/file17.txt' || c.path.startsWith('moved/p3/')))
    const bad = await env.ws.restore(['no/such/path']).then(() => undefined, (e: Error) => e)
    assert.match(String(bad?.message), /neither in the base commit nor changed/)
    await env.ws.resetHard()
    assert.equal((await env.ws.status()).changes, [])
  } finally {
    await env.close()
  }
})

test.run()
