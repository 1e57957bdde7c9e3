import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { readdirSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { AUTHOR, edit, exportAndFsck, makeEnv, materialize, mirrorTree, mirrorTreeId, sh, treeOfDir, upperWhiteout, type Env } from './_env.ts'

function applyAll(env: Env) {
  edit.write(env, 'new/dir/added.txt', 'hello\n')
  edit.write(env, 'README.md', '# changed\nno newline at end')
  edit.chmod(env, 'src/main.ts', true)
  edit.remove(env, 'empty.txt')
  edit.remove(env, 'pkg/p2')
  edit.symlink(env, 'src/lib/deep/er/still/leaf.txt', '../../../util.ts')
  edit.renameDir(env, 'pkg/p3', 'moved/p3')
  edit.write(env, 'moved/p3/d1/extra.txt', 'extra\n')
  upperWhiteout(env, 'moved/p3/d0')
  rmSync(join(env.mirror, 'moved/p3/d0'), { recursive: true, force: true })
  edit.replaceDir(env, 'pkg/p4', { 'only.txt': 'only\n' })
  edit.renameFile(env, 'bin/run.sh', 'tools/run.sh')
  edit.copyUp(env, 'pkg/p5/d2/file5.txt')
  edit.write(env, 'data/blob.bin', Uint8Array.from({ length: 2000 }, (_, i) => (i * 31) & 0xff))
}

test('diff is accepted by git apply on a checkout of the base and reproduces the workspace', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'new/dir/added.txt', 'hello\n')
    edit.write(env, 'README.md', '# changed\nno newline at end')
    edit.write(env, 'pkg/p1/d1/file1.txt', 'file 1\n'.repeat(20) + 'middle change\n' + 'file 1\n'.repeat(30))
    edit.chmod(env, 'src/main.ts', true)
    edit.remove(env, 'empty.txt')
    edit.remove(env, 'pkg/p2')
    edit.symlink(env, 'src/lib/deep/er/still/leaf.txt', '../../../util.ts')
    edit.renameDir(env, 'pkg/p3', 'moved/p3')
    edit.replaceDir(env, 'pkg/p4', { 'only.txt': 'only\n' })
    edit.renameFile(env, 'bin/run.sh', 'tools/run.sh')
    const diff = await env.ws.diff()
    assert.match(diff, /^diff --git a\/README.md b\/README.md$/m)
    assert.match(diff, /^\\ No newline at end of file$/m)
    assert.match(diff, /^old mode 100644\nnew mode 100755$/m)
    assert.match(diff, /^deleted file mode 100644$/m)
    assert.match(diff, /^new file mode 100755$/m)
    const co = join(env.dir, 'apply')
    sh(env.dir, 'git', ['clone', '-q', env.repo.path, co])
    writeFileSync(join(env.dir, 'p.diff'), diff)
    sh(co, 'git', ['apply', '--index', join(env.dir, 'p.diff')])
    assert.is(treeOfDir(co), mirrorTree(env))
    // PATH filter
    const only = await env.ws.diff(['pkg/p1'])
    assert.match(only, /pkg\/p1\/d1\/file1.txt/)
    assert.not.match(only, /README/)
    // a binary change comes as a GIT binary patch (binary_diff.test.ts applies them)
    edit.write(env, 'data/blob.bin', Uint8Array.from({ length: 2000 }, (_, i) => (i * 31) & 0xff))
    assert.match(await env.ws.diff(['data']), /^GIT binary patch$/m)
  } finally {
    await env.close()
  }
})

test('commit writes a commit whose tree is the workspace, fsck-clean; then status is clean and the view unchanged', async () => {
  const env = await makeEnv()
  try {
    applyAll(env)
    const before = await materialize(env)
    const expectedTree = mirrorTreeId(env)
    const r = await env.ws.commit({ message: 'my change', author: AUTHOR })
    assert.is(r.parent, env.head)
    const info = await env.store.readCommit(r.commit)
    assert.is(info.tree, expectedTree, 'commit tree = git write-tree of the same edits')
    assert.equal(info.parents, [env.head])
    assert.is(info.author.name, 'Test User')
    assert.is(info.message, 'my change\n')
    const fsck = await exportAndFsck(env, r.commit)
    assert.not.match(fsck, /error|missing|broken/i)
    assert.is(env.ws.state.base, r.commit)
    assert.equal((await env.ws.status()).changes, [])
    const after = await materialize(env, r.commit)
    assert.is(treeOfDir(after), treeOfDir(before), 'the files the user sees are the same')
    rmSync(before, { recursive: true, force: true })
    rmSync(after, { recursive: true, force: true })
    // the upper layer no longer holds the committed changes (only untracked empties could remain)
    const left = execFileSync('find', [env.upper, '-type', 'f', '-o', '-type', 'c', '-o', '-type', 'l']).toString().trim()
    assert.is(left, '', 'no files left in the upper layer')
    const xattrs = execFileSync('getfattr', ['-R', '-m', '-', '-d', env.upper]).toString()
    assert.not.match(xattrs, /scorpio/)
    // unchanged subtrees keep their ids
    const oldSrcLib = sh(env.dir, 'git', ['--git-dir', env.repo.path, 'rev-parse', `${env.head}:pkg/p0`]).trim()
    const newTree = await env.store.readTree(info.tree)
    const pkg = await env.store.readTree(newTree.find((e) => e.name === 'pkg')!.oid)
    assert.is(pkg.find((e) => e.name === 'p0')!.oid, oldSrcLib)
  } finally {
    await env.close()
  }
})

test('an empty commit is refused clearly; a message is required', async () => {
  const env = await makeEnv()
  try {
    edit.copyUp(env, 'README.md')
    const err = await env.ws.commit({ message: 'x', author: AUTHOR }).then(() => undefined, (e: Error) => e)
    assert.match(String(err?.message), /Nothing to commit/)
    edit.write(env, 'a.txt', 'a\n')
    const err2 = await env.ws.commit({ message: '  ', author: AUTHOR }).then(() => undefined, (e: Error) => e)
    assert.match(String(err2?.message), /Empty commit message/)
  } finally {
    await env.close()
  }
})

test('two commits in a row, log marks them unpushed, first-parent order', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'a.txt', 'a\n')
    const c1 = await env.ws.commit({ message: 'one', author: AUTHOR })
    edit.write(env, 'a.txt', 'b\n')
    edit.write(env, 'b.txt', 'b\n')
    const c2 = await env.ws.commit({ message: 'two', author: AUTHOR })
    assert.is(c2.parent, c1.commit)
    const log = await env.ws.log()
    assert.equal(log.slice(0, 3).map((e) => [e.commit, e.pushed]), [[c2.commit, false], [c1.commit, false], [env.head, true]])
    const view = await materialize(env)
    assert.is(treeOfDir(view), mirrorTree(env))
    rmSync(view, { recursive: true, force: true })
    assert.equal(readdirSync(env.upper), [])
  } finally {
    await env.close()
  }
})

test.run()
