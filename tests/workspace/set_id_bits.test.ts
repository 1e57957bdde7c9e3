// Set-user-ID and set-group-ID bits are dropped as on a local disk when another user (without
// CAP_FSETID) writes or truncates the file, and by chown; the owner's own chmod keeps them. Runs as
// root with --allow-other; the other user is nobody (65534), as in the unprivileged-mount tests.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { asNobody, NOBODY } from '../helpers/unprivileged.ts'
import { withMount } from '../mount/_cli.ts'

const mode = async (p: string) => (await fsp.lstat(p)).mode & 0o7777

test('a write, a truncate or a chown drops set-ID bits; they survive a remount otherwise', async () => {
  await withMount({ count: 4, args: ['--allow-other'], otherUsers: true }, async (m) => {
    const { mnt } = m
    const dir = join(mnt, 'setid')
    await fsp.mkdir(dir, { mode: 0o777 })
    await fsp.chmod(dir, 0o777)
    const files = { w: 0o4777, t: 0o2777, g: 0o2767, kept: 0o6755 }
    for (const [name, bits] of Object.entries(files)) {
      await fsp.writeFile(join(dir, name), '#!/bin/sh\n')
      await fsp.chmod(join(dir, name), bits)
    }
    const r = await asNobody(`cd '${dir}' && echo x >> w && : > t && echo x >> g`)
    assert.is(r.status, 0, r.stderr)
    assert.is(await mode(join(dir, 'w')), 0o777, 'a write by another user drops set-user-ID')
    assert.is(await mode(join(dir, 't')), 0o777, 'a truncate drops set-group-ID of a group-executable file')
    assert.is(await mode(join(dir, 'g')), 0o2767, 'set-group-ID without group exec is a lock mark: kept')
    assert.is(await mode(join(dir, 'kept')), 0o6755)
    assert.is(await m.stop(), 0)
    await m.start()
    assert.is(await mode(join(dir, 'kept')), 0o6755, 'after remount')
    await fsp.chown(join(dir, 'kept'), NOBODY, NOBODY)
    assert.is(await mode(join(dir, 'kept')), 0o755, 'chown drops both')
  })
})

test.run()
