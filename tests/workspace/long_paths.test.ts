// A path near PATH_MAX inside the workspace works as on a local disk, although the same path under
// the upper directory is longer than the kernel takes in one string: create, write, rename, chmod,
// link, list, delete; status and commit see it; it is there after a remount.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { scorpio, withMount } from '../mount/_cli.ts'

test('paths near PATH_MAX: every operation, status, commit and a remount', async () => {
  await withMount({ count: 4 }, async (m) => {
    const { mnt, env } = m
    // 15 names of 255 bytes: 3,840 bytes of directories under the mountpoint
    const parts = Array.from({ length: 15 }, (_, i) => String.fromCharCode(97 + i).repeat(255))
    const deep = parts.join('/')
    const room = 4095 - Buffer.byteLength(join(mnt, deep)) - 2
    assert.ok(room > 20, `the sandbox path is too long for this test (${room})`)
    const name = 'f'.repeat(Math.min(room, 255))
    const dir = join(mnt, deep)
    await fsp.mkdir(dir, { recursive: true })
    const file = join(dir, name)
    assert.ok(Buffer.byteLength(file) > 4000)
    await fsp.writeFile(file, 'deep\n')
    await fsp.chmod(file, 0o755)
    await fsp.rename(file, join(dir, 'g'))
    await fsp.link(join(dir, 'g'), file)
    assert.is((await fsp.stat(file)).nlink, 2)
    await fsp.unlink(join(dir, 'g'))
    assert.equal(await fsp.readdir(dir), [name])
    await fsp.mkdir(join(dir, 'x'))
    await fsp.rmdir(join(dir, 'x'))
    assert.is(await fsp.readFile(file, 'utf8'), 'deep\n')

    const st = await scorpio(['status'], { env, cwd: mnt })
    assert.is(st.status, 0, st.stderr)
    assert.ok(st.stdout.includes(`A ${deep}/${name}`), st.stdout.slice(0, 200))

    assert.is(await m.stop(), 0)
    await m.start()
    assert.is(await fsp.readFile(file, 'utf8'), 'deep\n', 'after remount')
    assert.is((await fsp.stat(file)).mode & 0o777, 0o755)

    const c = await scorpio(['commit', '-m', 'deep', '--author', 'T <t@t>'], { env, cwd: mnt })
    assert.is(c.status, 0, c.stderr)
    const after = await scorpio(['status'], { env, cwd: mnt })
    assert.match(after.stdout, /nothing to commit/)
    assert.is(await fsp.readFile(file, 'utf8'), 'deep\n', 'after commit')
    await fsp.rm(join(mnt, parts[0]), { recursive: true })
    assert.is((await scorpio(['status'], { env, cwd: mnt })).stdout.includes(`D ${deep}/${name}`), true)
  })
})

test.run()
