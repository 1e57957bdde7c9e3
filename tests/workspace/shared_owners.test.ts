// A workspace mounted with --allow-other is used by several users: what each one makes is theirs
// (and stays theirs after a remount), and the kernel checks every user's access against the owner
// and mode of each entry, lower (never copied up) and upper alike. Runs as root; the other user is
// nobody (65534), as in the unprivileged-mount tests.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { asNobody, NOBODY } from '../helpers/unprivileged.ts'
import { withMount } from '../mount/_cli.ts'

const owner = async (p: string) => {
  const st = await fsp.lstat(p)
  return `${st.uid}:${st.gid}`
}

test('allow-other: entries belong to the user who made them; access is checked per user; owners survive a remount', async () => {
  await withMount({ count: 4, args: ['--allow-other'], otherUsers: true }, async (m) => {
    const { mnt } = m
    const shared = join(mnt, 'shared')
    await fsp.mkdir(shared)
    await fsp.chmod(shared, 0o1777)
    await fsp.writeFile(join(shared, 'roots.txt'), 'root\n')
    const r = await asNobody(
      `cd '${shared}' && echo mine > mine.txt && mkdir mydir && mkfifo pipe && ln -s mine.txt link && ` +
        `rm -f roots.txt 2>&1; echo "rm=$?"; ` +
        `touch -d 2001-01-01 roots.txt 2>&1; echo "touch=$?"; ` +
        `echo no >> '${join(mnt, 'README.md')}' 2>&1; echo "write-lower=$?"; ` +
        `touch '${join(mnt, 'new-at-root.txt')}' 2>&1; echo "create-in-root=$?"`,
    )
    assert.is(r.status, 0, r.stderr)
    assert.match(r.stdout, /rm=1/, 'nobody may not remove root’s file from a sticky directory')
    assert.match(r.stdout, /touch=1/, 'nobody may not set the times of root’s file')
    assert.match(r.stdout, /Operation not permitted[\s\S]*touch=1/)
    assert.match(r.stdout, /write-lower=[1-9]/, 'a lower file of mode 0644 is not writable by nobody')
    assert.match(r.stdout, /Permission denied[\s\S]*create-in-root=1/, 'the root directory (0755, root’s) is not writable by nobody')
    for (const name of ['mine.txt', 'mydir', 'pipe', 'link']) assert.is(await owner(join(shared, name)), `${NOBODY}:${NOBODY}`, name)
    assert.is(await owner(join(shared, 'roots.txt')), '0:0')
    assert.is(await owner(join(mnt, 'README.md')), '0:0')
    assert.is(await fsp.readFile(join(mnt, 'README.md'), 'utf8').then((t) => t.includes('no\n')), false)
    // a set-group-ID directory hands its group down
    const sgid = join(mnt, 'sgid')
    await fsp.mkdir(sgid)
    await fsp.chown(sgid, 0, 4242)
    await fsp.chmod(sgid, 0o2777)
    assert.is((await asNobody(`touch '${join(sgid, 'f')}'`)).status, 0)
    assert.is(await owner(join(sgid, 'f')), `${NOBODY}:4242`)

    assert.is(await m.stop(), 0)
    await m.start()
    for (const name of ['mine.txt', 'mydir', 'pipe', 'link']) assert.is(await owner(join(shared, name)), `${NOBODY}:${NOBODY}`, `${name} after remount`)
    assert.is(await owner(join(sgid, 'f')), `${NOBODY}:4242`)
    assert.is((await asNobody(`echo more >> '${join(shared, 'mine.txt')}'`)).status, 0, 'nobody still writes its own file')
    assert.is(await fsp.readFile(join(shared, 'mine.txt'), 'utf8'), 'mine\nmore\n')
  })
})

test.run()
