import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rmSync } from 'node:fs'
import { edit, exportObjects, makeEnv, materialize, mirrorTree, sh, treeOfDir, upperWhiteout, type Env } from './_env.ts'
import { sampleFiles } from '../helpers/repos.ts'

/** What Git says changed in the mirror, as status --json would put it. */
function gitStatus(env: Env): { path: string; status: string }[] {
  sh(env.mirror, 'git', ['add', '-A'])
  const out = sh(env.mirror, 'git', ['diff', '--cached', '--no-renames', '--name-status', '-z', 'HEAD'])
  const f = out.split('\0').filter(Boolean)
  const rows: { path: string; status: string }[] = []
  const names: Record<string, string> = { A: 'added', M: 'modified', D: 'deleted', T: 'typechange' }
  for (let i = 0; i < f.length; i += 2) rows.push({ path: f[i + 1], status: names[f[i]] })
  return rows.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
}

async function check(env: Env, expected?: { path: string; status: string }[]) {
  const s = await env.ws.status()
  assert.is(s.base, env.head)
  assert.equal(s.changes, gitStatus(env))
  if (expected) assert.equal(s.changes, expected)
  const view = await materialize(env)
  try {
    assert.is(treeOfDir(view), mirrorTree(env), 'the materialized view equals the mirror')
  } finally {
    rmSync(view, { recursive: true, force: true })
  }
}

test('clean workspace, and copied-up files with unchanged content and mode, are not changes', async () => {
  const env = await makeEnv()
  try {
    await check(env, [])
    edit.copyUp(env, 'README.md')
    edit.copyUp(env, 'bin/run.sh')
    edit.copyUp(env, 'pkg/p1/d1/file1.txt')
    await check(env, [])
  } finally {
    await env.close()
  }
})

test('each status kind: added, modified (content and exec bit), deleted, typechange', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'new/dir/added.txt', 'hello\n')
    edit.write(env, 'README.md', '# changed\n')
    edit.chmod(env, 'src/main.ts', true)
    edit.chmod(env, 'bin/run.sh', false)
    edit.remove(env, 'empty.txt')
    edit.remove(env, 'src/lib/util.ts', true) // .wh. file form
    edit.symlink(env, 'src/lib/deep/er/still/leaf.txt', '../../../util.ts') // file -> symlink
    edit.write(env, 'link-to-main', 'now a file\n') // symlink -> file
    await check(env, [
      { path: 'README.md', status: 'modified' },
      { path: 'bin/run.sh', status: 'modified' },
      { path: 'empty.txt', status: 'deleted' },
      { path: 'link-to-main', status: 'typechange' },
      { path: 'new/dir/added.txt', status: 'added' },
      { path: 'src/lib/deep/er/still/leaf.txt', status: 'typechange' },
      { path: 'src/lib/util.ts', status: 'deleted' },
      { path: 'src/main.ts', status: 'modified' },
    ])
  } finally {
    await env.close()
  }
})

test('whole directories: deleted, renamed (origin xattr), replaced (opaque), file renamed (metacopy)', async () => {
  const env = await makeEnv()
  try {
    edit.remove(env, 'pkg/p2')
    edit.renameDir(env, 'pkg/p3', 'moved/p3')
    edit.replaceDir(env, 'pkg/p4', { 'only.txt': 'only\n', 'd0/x.txt': 'x\n' })
    edit.renameFile(env, 'README.md', 'docs/README.md')
    edit.write(env, 'moved/p3/d1/extra.txt', 'extra\n')
    upperWhiteout(env, 'moved/p3/d0') // delete inside the renamed dir
    rmSync(`${env.mirror}/moved/p3/d0`, { recursive: true, force: true })
    await check(env)
    const s = await env.ws.status()
    assert.ok(s.changes.some((c) => c.path === 'docs/README.md' && c.status === 'added'))
    assert.ok(s.changes.some((c) => c.path === 'README.md' && c.status === 'deleted'))
  } finally {
    await env.close()
  }
})

test('empty directories are not changes', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'emptydir/x', 'x')
    rmSync(`${env.upper}/emptydir/x`)
    rmSync(`${env.mirror}/emptydir/x`)
    await check(env, [])
  } finally {
    await env.close()
  }
})


test('the origin cache notices an origin set or removed on an entry it has seen', async () => {
  const env = await makeEnv()
  try {
    const { execFileSync } = await import('node:child_process')
    const { mkdirSync } = await import('node:fs')
    mkdirSync(`${env.upper}/pkg/p5`, { recursive: true })
    assert.equal((await env.ws.status()).changes, [])
    // the overlay turns the (cached, origin-less) upper dir pkg/p5 into a copy of pkg/p6's tree
    const p6 = sh(env.dir, 'git', ['--git-dir', env.repo.path, 'rev-parse', `${env.head}:pkg/p6`]).trim()
    execFileSync('setfattr', ['-n', 'user.scorpio.origin', '-v', `40000 ${p6}`, `${env.upper}/pkg/p5`])
    const s = await env.ws.status()
    assert.ok(s.changes.length > 0, 'origin noticed')
    assert.ok(s.changes.every((c) => c.path.startsWith('pkg/p5/')))
    execFileSync('setfattr', ['-x', 'user.scorpio.origin', `${env.upper}/pkg/p5`])
    assert.equal((await env.ws.status()).changes, [])
  } finally {
    await env.close()
  }
})


test('an upper copy of a submodule directory with nothing in it is not a change', async () => {
  const env = await makeEnv()
  try {
    const { mkdirSync } = await import('node:fs')
    mkdirSync(`${env.upper}/vendor/sub`, { recursive: true })
    assert.equal((await env.ws.status()).changes, [])
    edit.write(env, 'vendor/other.txt', 'x\n')
    const r = await env.ws.commit({ message: 'keeps the submodule', author: 'T <t@x>' })
    const vendor = await env.store.readTree((await env.store.readTree((await env.store.readCommit(r.commit)).tree)).find((e) => e.name === 'vendor')!.oid)
    assert.equal(vendor.map((e) => [e.name, e.mode]), [['other.txt', '100644'], ['sub', '160000']])
  } finally {
    await env.close()
  }
})


test('.gitignore (lower and upper, nested, negation, dir-only) and .git dirs leave untracked files out of status and commit', async () => {
  const files = [...sampleFiles(10), { path: '.gitignore', content: '*.log\nbuild/\n!keep.log\n' }, { path: 'src/.gitignore', content: 'gen-*\n' }]
  const env = await makeEnv(files)
  try {
    edit.write(env, 'debug.log', 'x\n')
    edit.write(env, 'keep.log', 'kept\n')
    edit.write(env, 'build/out.js', 'x\n')
    edit.write(env, 'src/build', 'a file named build is not a dir\n')
    edit.write(env, 'src/gen-1.ts', 'x\n')
    edit.write(env, 'gen-2.ts', 'not ignored at the root\n')
    edit.write(env, 'pkg/.gitignore', 'local.txt\n')
    edit.write(env, 'pkg/local.txt', 'x\n')
    edit.write(env, 'README.md', 'tracked stays tracked\n')
    const s = await env.ws.status()
    assert.equal(s.changes, gitStatus(env))
    assert.equal(s.changes.map((c) => c.path), ['README.md', 'gen-2.ts', 'keep.log', 'pkg/.gitignore', 'src/build'])
    // a repository created inside the workspace is not part of it
    const { mkdirSync, writeFileSync } = await import('node:fs')
    mkdirSync(`${env.upper}/proj/.git/objects`, { recursive: true })
    writeFileSync(`${env.upper}/proj/.git/HEAD`, 'ref: refs/heads/main\n')
    writeFileSync(`${env.upper}/proj/.git/objects/x`, 'x')
    writeFileSync(`${env.upper}/proj/a.txt`, 'a\n')
    const s2 = await env.ws.status()
    assert.ok(s2.changes.some((c) => c.path === 'proj/a.txt'))
    assert.not.ok(s2.changes.some((c) => c.path.includes('.git/')))
    const r = await env.ws.commit({ message: 'with ignored files around', author: 'T <t@x>' })
    const tree = sh(env.dir, 'git', ['--git-dir', await exportObjects(env, r.commit), 'ls-tree', '-r', '--name-only', r.commit]).split('\n')
    for (const p of ['debug.log', 'build/out.js', 'src/gen-1.ts', 'pkg/local.txt', 'proj/.git/HEAD']) assert.not.ok(tree.includes(p), p)
    for (const p of ['keep.log', 'gen-2.ts', 'src/build', 'proj/a.txt']) assert.ok(tree.includes(p), p)
    // ignored files stay in the workspace after the commit; status is clean
    assert.equal((await env.ws.status()).changes, [])
    const { existsSync } = await import('node:fs')
    assert.ok(existsSync(`${env.upper}/debug.log`) && existsSync(`${env.upper}/proj/.git/HEAD`))
  } finally {
    await env.close()
  }
})

test.run()
