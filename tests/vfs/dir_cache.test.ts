// The kernel keeps every directory listing of a mount (no OPENDIR: each directory is opened with
// FOPEN_CACHE_DIR). Changes through the mount reset those listings in the kernel; changes made
// behind its back (reset --hard, restore, commit, checkout run by the mount process) must
// invalidate them. Each step lists directories first (so the kernel holds them), runs a command,
// and lists again.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { commitFiles } from '../helpers/repos.ts'
import { scorpio, withMount } from '../mount/_cli.ts'

const ENV_ID = { GIT_AUTHOR_NAME: 'Mount User', GIT_AUTHOR_EMAIL: 'mount@example.com' }

/** 'ok', or the error code of stat(2). */
async function statCode(path: string): Promise<string> {
  return fsp.stat(path).then(() => 'ok', (e: NodeJS.ErrnoException) => e.code ?? String(e))
}

async function names(dir: string): Promise<string[]> {
  return (await fsp.readdir(dir)).sort()
}

test('dir cache: listings follow reset, restore, commit and checkout made while mounted', async () => {
  await withMount({ count: 20, env: ENV_ID }, async (m) => {
    const { mnt, env } = m
    const ok = (r: { status: number | null; stderr: string }) => assert.is(r.status, 0, r.stderr)
    const rootBase = await names(mnt)
    const srcBase = await names(join(mnt, 'src'))
    const libBase = await names(join(mnt, 'src/lib'))
    const genBase = await names(join(mnt, 'gen/d1'))
    assert.ok(rootBase.includes('README.md') && srcBase.includes('main.ts') && libBase.includes('util.ts'))

    // Changes through the mount: the kernel resets its copies itself.
    await fsp.writeFile(join(mnt, 'src/lib/extra.ts'), 'extra\n')
    await fsp.rm(join(mnt, 'src/main.ts'))
    await fsp.mkdir(join(mnt, 'newdir'))
    assert.ok((await names(join(mnt, 'src/lib'))).includes('extra.ts'))
    assert.not.ok((await names(join(mnt, 'src'))).includes('main.ts'))
    assert.ok((await names(mnt)).includes('newdir'))

    // reset --hard rewrites the upper dir behind the kernel's back.
    assert.is(await statCode(join(mnt, 'src/main.ts')), 'ENOENT', 'removed: the kernel keeps it as absent')
    ok(await scorpio(['reset', '--hard'], { env, cwd: mnt }))
    await fsp.stat(join(mnt, 'src/main.ts'))
    assert.equal(await names(join(mnt, 'src/lib')), libBase, 'reset: src/lib lists its base names')
    assert.equal(await names(join(mnt, 'src')), srcBase, 'reset: src lists its base names')
    assert.equal(await names(mnt), rootBase, 'reset: the root lists its base names')

    // restore of one directory.
    await fsp.writeFile(join(mnt, 'gen/d1/scratch.bin'), 'x')
    assert.ok((await names(join(mnt, 'gen/d1'))).includes('scratch.bin'))
    ok(await scorpio(['restore', 'gen/d1'], { env, cwd: mnt }))
    assert.equal(await names(join(mnt, 'gen/d1')), genBase, 'restore: gen/d1 lists its base names')

    // commit: the upper entries move into the new base; the listings keep showing them.
    await fsp.writeFile(join(mnt, 'gen/d1/committed.bin'), 'c')
    await fsp.rm(join(mnt, 'README.md'))
    const genCommitted = await names(join(mnt, 'gen/d1'))
    const rootCommitted = await names(mnt)
    ok(await scorpio(['commit', '-m', 'through the mount'], { env, cwd: mnt }))
    assert.equal(await names(join(mnt, 'gen/d1')), genCommitted)
    assert.equal(await names(mnt), rootCommitted)
    const r = await scorpio(['status', '--json'], { env, cwd: mnt })
    assert.equal(JSON.parse(r.stdout).changes, [])

    // checkout of a commit made elsewhere: names appear and disappear in directories the kernel
    // listed before, including the root and a lower-only directory.
    const upstream = await commitFiles(m.served.repo.path, [
      { path: 'src/lib/upstream.ts', content: 'up\n' },
      { path: 'top-level-new.txt', content: 'new\n' },
    ], { remove: ['gen/d2/f2.bin'], parent: m.served.repo.head, branch: 'other' })
    const d2Before = await names(join(mnt, 'gen/d2'))
    assert.ok(d2Before.includes('f2.bin'))
    await names(join(mnt, 'src/lib'))
    // Probed before they exist: absent entries the kernel keeps, which the checkout must drop.
    assert.is(await statCode(join(mnt, 'src/lib/upstream.ts')), 'ENOENT')
    assert.is(await statCode(join(mnt, 'top-level-new.txt')), 'ENOENT')
    ok(await scorpio(['checkout', upstream], { env, cwd: mnt }))
    assert.is(await fsp.readFile(join(mnt, 'src/lib/upstream.ts'), 'utf8'), 'up\n')
    assert.is(await fsp.readFile(join(mnt, 'top-level-new.txt'), 'utf8'), 'new\n')
    assert.ok((await names(join(mnt, 'src/lib'))).includes('upstream.ts'), 'checkout: src/lib shows the new file')
    assert.ok((await names(mnt)).includes('top-level-new.txt'), 'checkout: the root shows the new file')
    assert.ok((await names(mnt)).includes('README.md'), 'checkout: the root shows README.md again')
    assert.not.ok((await names(join(mnt, 'gen/d2'))).includes('f2.bin'), 'checkout: gen/d2 no longer lists f2.bin')
    assert.not.ok((await names(join(mnt, 'gen/d1'))).includes('committed.bin'), 'checkout: gen/d1 no longer lists committed.bin')
    assert.equal(await names(join(mnt, 'gen/d1')), genBase)
  })
})

test.run()
