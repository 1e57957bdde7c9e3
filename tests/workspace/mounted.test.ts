// The workspace commands against a real mount (scorpio mount over git http-backend), while mounted
// (through the mount process's control socket) and after unmount (offline, on the state dir).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { commitFiles, git } from '../helpers/repos.ts'
import { scorpio, withMount } from '../mount/_cli.ts'
import { listFiles } from './_env.ts'

const run = promisify(execFile)
const ENV_ID = { GIT_AUTHOR_NAME: 'Mount User', GIT_AUTHOR_EMAIL: 'mount@example.com' }

test('mounted checkout: what changed shows at once; the directories above it and everything else keep their inodes', async () => {
  await withMount({ count: 20 }, async ({ mnt, env, served }) => {
    const old = served.repo.head
    const leaf = 'src/lib/deep/er/still/leaf.txt'
    const added = 'src/lib/deep/new/x/added.txt'
    const now = await commitFiles(served.repo.path, [{ path: leaf, content: 'leaf, changed\n' }, { path: added, content: 'added\n' }], { parent: old })
    const inos = async () => Object.fromEntries(await Promise.all(['src', 'src/main.ts', 'src/lib', 'src/lib/util.ts', 'src/lib/deep', 'src/lib/deep/er'].map(async (p) => [p, (await fsp.stat(join(mnt, p))).ino])))
    const before = await inos()
    assert.is(await fsp.readFile(join(mnt, leaf), 'utf8'), 'leaf\n')
    assert.equal((await fsp.readdir(join(mnt, 'src/lib/deep'))).sort(), ['er'])
    let r = await scorpio(['checkout', now], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    assert.is(await fsp.readFile(join(mnt, added), 'utf8'), 'added\n')
    assert.is(await fsp.readFile(join(mnt, leaf), 'utf8'), 'leaf, changed\n')
    assert.equal(await inos(), before, 'nothing above or beside the changed files was detached')
    r = await scorpio(['checkout', old], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    assert.is(await fsp.readFile(join(mnt, leaf), 'utf8'), 'leaf\n')
    assert.equal((await fsp.readdir(join(mnt, 'src/lib/deep'))).sort(), ['er'])
    assert.equal(await inos(), before)
  })
})

test('mounted: status/diff/commit/push from inside the mount, then offline after unmount', async () => {
  await withMount({ count: 20, env: ENV_ID }, async (m) => {
    const { mnt, env } = m
    let r: Awaited<ReturnType<typeof scorpio>>
    // edits through the kernel, as a user would make them
    await fsp.writeFile(join(mnt, 'README.md'), '# edited in the mount\n')
    await fsp.mkdir(join(mnt, 'newdir'))
    await fsp.writeFile(join(mnt, 'newdir/new.txt'), 'new\n')
    await fsp.rm(join(mnt, 'empty.txt'))
    await fsp.chmod(join(mnt, 'src/main.ts'), 0o755)
    await fsp.rename(join(mnt, 'src/lib'), join(mnt, 'lib2'))
    r = await scorpio(['status', '--json'], { env, cwd: join(mnt, 'src') })
    assert.is(r.status, 0, r.stderr)
    const st = JSON.parse(r.stdout)
    const byPath = new Map(st.changes.map((c: { path: string; status: string }) => [c.path, c.status]))
    assert.is(byPath.get('README.md'), 'modified')
    assert.is(byPath.get('newdir/new.txt'), 'added')
    assert.is(byPath.get('empty.txt'), 'deleted')
    assert.is(byPath.get('src/main.ts'), 'modified')
    assert.is(byPath.get('src/lib/util.ts'), 'deleted')
    assert.is(byPath.get('lib2/util.ts'), 'added')
    // diff applies on a clone of the base and reproduces the mount's files
    r = await scorpio(['diff'], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    const clone = join(m.box.root, 'clone')
    await run('git', ['clone', '-q', m.served.repo.path, clone])
    await fsp.writeFile(join(m.box.root, 'p.diff'), r.stdout)
    await run('git', ['apply', '--index', join(m.box.root, 'p.diff')], { cwd: clone })
    const shown = await listFiles(mnt)
    assert.is(await listFiles(clone), shown)
    // commit: same files shown, status clean
    r = await scorpio(['commit', '-m', 'edited through the mount'], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    const commit = r.stdout.trim()
    assert.is(await listFiles(mnt), shown, 'the mount shows the same files after commit')
    r = await scorpio(['status', '--json'], { env, cwd: mnt })
    assert.equal(JSON.parse(r.stdout), { base: commit, changes: [] })
    // push over HTTP; a fresh clone equals the mount
    r = await scorpio(['push'], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    assert.is(git(m.served.repo.path, ['rev-parse', 'main']).trim(), commit)
    const fresh = join(m.box.root, 'fresh')
    await run('git', ['clone', '-q', m.served.repo.path, fresh])
    assert.is(await listFiles(fresh), shown)
    // checkout the old commit in place, and back
    r = await scorpio(['checkout', m.served.repo.head], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    assert.is(await fsp.readFile(join(mnt, 'README.md'), 'utf8'), '# test repo\n')
    r = await scorpio(['checkout', 'main'], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    assert.is(await fsp.readFile(join(mnt, 'README.md'), 'utf8'), '# edited in the mount\n')
    // offline: unmount, then work on the state dir with -C MOUNTPOINT
    await fsp.writeFile(join(mnt, 'after.txt'), 'after\n')
    assert.is(await m.stop(), 0)
    r = await scorpio(['status', '--json', '-C', mnt], { env })
    assert.is(r.status, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout).changes, [{ path: 'after.txt', status: 'added' }])
    r = await scorpio(['commit', '-m', 'offline', '-C', mnt], { env })
    assert.is(r.status, 0, r.stderr)
    const offline = r.stdout.trim()
    r = await scorpio(['log', '--json', '-C', mnt], { env })
    const log = JSON.parse(r.stdout)
    assert.equal(log.slice(0, 2).map((e: { commit: string; pushed: boolean }) => [e.commit, e.pushed]), [[offline, false], [commit, true]])
    // remount: the committed file is there, status clean
    await m.start()
    assert.is(await fsp.readFile(join(mnt, 'after.txt'), 'utf8'), 'after\n')
    r = await scorpio(['status', '--json'], { env, cwd: mnt })
    assert.equal(JSON.parse(r.stdout), { base: offline, changes: [] })
    // restore and reset --hard while mounted: the mount shows the base again at once
    await fsp.writeFile(join(mnt, 'README.md'), 'scratch\n')
    await fsp.writeFile(join(mnt, 'scratch.txt'), 'scratch\n')
    await fsp.rm(join(mnt, 'newdir'), { recursive: true })
    r = await scorpio(['restore', 'README.md', 'newdir'], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    assert.is(await fsp.readFile(join(mnt, 'README.md'), 'utf8'), '# edited in the mount\n')
    assert.is(await fsp.readFile(join(mnt, 'newdir/new.txt'), 'utf8'), 'new\n')
    r = await scorpio(['reset', '--hard'], { env, cwd: mnt })
    assert.is(r.status, 0, r.stderr)
    assert.is(await fsp.stat(join(mnt, 'scratch.txt')).then(() => 'there', () => 'gone'), 'gone')
    r = await scorpio(['status', '--json'], { env, cwd: mnt })
    assert.equal(JSON.parse(r.stdout).changes, [])
  })
})

test.run()
