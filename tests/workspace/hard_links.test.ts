// Hard links in a workspace behave as on a local disk: every name is one inode (same st_ino, the
// right nlink, a chmod or a write through one name seen at once through the others), whichever name
// is removed or renamed, for a file made in the workspace and for a lower file linked before it was
// ever written; and after a remount. Also: modes asked for under umask 0 are kept as asked (the
// serving process's own umask must not cut them).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { runToEnd } from '../helpers/run.ts'
import { withMount } from '../mount/_cli.ts'

const st = (p: string) => fsp.lstat(p)

test('hard links are one inode through every name, through renames, unlinks and a remount', async () => {
  await withMount({ count: 4 }, async (m) => {
    const { mnt } = m
    const a = join(mnt, 'a.txt')
    await fsp.writeFile(a, 'one\n')
    const ino = (await st(a)).ino
    await fsp.mkdir(join(mnt, 'sub'))
    const b = join(mnt, 'sub', 'b.txt')
    await fsp.link(a, b)
    for (const p of [a, b]) {
      const s = await st(p)
      assert.is(s.ino, ino, p)
      assert.is(s.nlink, 2, p)
    }
    await fsp.chmod(b, 0o600)
    assert.is((await st(a)).mode & 0o777, 0o600, 'chmod through one name is seen through the other at once')
    await fsp.appendFile(a, 'two\n')
    assert.is(await fsp.readFile(b, 'utf8'), 'one\ntwo\n')
    assert.is((await st(b)).size, 8)
    // rename one name, remove the other: the inode stays, nlink drops
    const c = join(mnt, 'c.txt')
    await fsp.rename(b, c)
    assert.is((await st(c)).ino, ino, 'rename keeps the inode')
    await fsp.unlink(a)
    const sc = await st(c)
    assert.is(sc.ino, ino)
    assert.is(sc.nlink, 1)
    assert.is(await fsp.readFile(c, 'utf8'), 'one\ntwo\n')

    // a lower file (never written) linked: both names one file
    const lower = join(mnt, 'README.md')
    const low2 = join(mnt, 'readme-link')
    const text = await fsp.readFile(lower, 'utf8')
    await fsp.link(lower, low2)
    assert.is((await st(lower)).ino, (await st(low2)).ino)
    assert.is((await st(lower)).nlink, 2)
    await fsp.appendFile(low2, 'more\n')
    assert.is(await fsp.readFile(lower, 'utf8'), text + 'more\n')
    await fsp.link(c, join(mnt, 'd.txt'))

    // modes under umask 0 (the kernel applied the caller's umask; the server's must not cut more)
    const r = await runToEnd('sh', ['-c', 'umask 0 && mkdir open && : > open/f && mkfifo open/p && chmod 1777 open'], { cwd: mnt, timeoutMs: 30_000 })
    assert.is(r.status, 0, r.stderr)
    const modes = async () => [
      (await st(join(mnt, 'open'))).mode & 0o7777,
      (await st(join(mnt, 'open', 'f'))).mode & 0o777,
      (await st(join(mnt, 'open', 'p'))).mode & 0o777,
    ]
    assert.equal(await modes(), [0o1777, 0o666, 0o666])

    assert.is(await m.stop(), 0)
    await m.start()
    const [s1, s2] = [await st(c), await st(join(mnt, 'd.txt'))]
    assert.is(s1.ino, s2.ino, 'after remount: one inode')
    assert.is(s1.nlink, 2)
    await fsp.chmod(c, 0o640)
    assert.is((await st(join(mnt, 'd.txt'))).mode & 0o777, 0o640)
    assert.is((await st(lower)).ino, (await st(low2)).ino)
    assert.is(await fsp.readFile(lower, 'utf8'), text + 'more\n')
    assert.equal(await modes(), [0o1777, 0o666, 0o666])
  })
})

test.run()
