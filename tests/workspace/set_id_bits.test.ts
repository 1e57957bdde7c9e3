// Set-user-ID and set-group-ID bits are dropped as on a local disk when another user (without
// CAP_FSETID) writes or truncates the file, and by chown; the owner's own chmod keeps them. Runs as
// root with --allow-other; the other user is nobody (65534), as in the unprivileged-mount tests.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { chmodSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { NOBODY } from '../helpers/unprivileged.ts'
import { runToEnd } from '../helpers/run.ts'
import { mountForeground, requireFuse, sandbox, serveRepo } from '../mount/_cli.ts'

function asNobody(script: string) {
  return runToEnd('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', 'sh', '-c', script], { timeoutMs: 30_000 })
}

const mode = async (p: string) => (await fsp.lstat(p)).mode & 0o7777

test('a write, a truncate or a chown drops set-ID bits; they survive a remount otherwise', async () => {
  requireFuse()
  const box = sandbox()
  chmodSync(box.root, 0o755)
  const served = await serveRepo(4)
  const mnt = box.dir('ws')
  let mount: Awaited<ReturnType<typeof mountForeground>> | undefined
  try {
    mount = await mountForeground(['--allow-other', served.url, mnt], { env: box.env })
    const dir = join(mnt, 'setid')
    await fsp.mkdir(dir, { mode: 0o777 })
    await fsp.chmod(dir, 0o777)
    const files = { w: 0o4777, t: 0o2777, g: 0o2767, kept: 0o6755 }
    for (const [name, m] of Object.entries(files)) {
      await fsp.writeFile(join(dir, name), '#!/bin/sh\n')
      await fsp.chmod(join(dir, name), m)
    }
    const r = await asNobody(`cd '${dir}' && echo x >> w && : > t && echo x >> g`)
    assert.is(r.status, 0, r.stderr)
    assert.is(await mode(join(dir, 'w')), 0o777, 'a write by another user drops set-user-ID')
    assert.is(await mode(join(dir, 't')), 0o777, 'a truncate drops set-group-ID of a group-executable file')
    assert.is(await mode(join(dir, 'g')), 0o2767, 'set-group-ID without group exec is a lock mark: kept')
    assert.is(await mode(join(dir, 'kept')), 0o6755)
    assert.is(await mount.stop(), 0)
    mount = await mountForeground(['--allow-other', served.url, mnt], { env: box.env })
    assert.is(await mode(join(dir, 'kept')), 0o6755, 'after remount')
    await fsp.chown(join(dir, 'kept'), NOBODY, NOBODY)
    assert.is(await mode(join(dir, 'kept')), 0o755, 'chown drops both')
  } catch (e) {
    if (mount) console.error('mount stderr:\n' + mount.stderr().split('\n').slice(-15).join('\n'))
    throw e
  } finally {
    await mount?.stop()
    await served.close()
    box.cleanup()
  }
})

test.run()
