// kill -9 of the mount process in the middle of a commit it runs, then remount: old or new state.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { mountForeground, requireFuse, sandbox, scorpio, serveRepo } from '../mount/_cli.ts'
import { listFiles } from './_env.ts'

const ENV_ID = { GIT_AUTHOR_NAME: 'Mount User', GIT_AUTHOR_EMAIL: 'mount@example.com' }

for (const step of ['journal-written', 'cleanup-midway']) {
  test(`mount process killed at "${step}" of a commit; remount shows old or new state, never a mix`, async () => {
    requireFuse()
    const box = sandbox()
    const served = await serveRepo(10)
    const mnt = box.dir('ws')
    const env = { ...box.env, ...ENV_ID }
    let mount: Awaited<ReturnType<typeof mountForeground>> | undefined
    try {
      mount = await mountForeground([served.url, mnt], { env: { ...env, SCORPIO_TEST_CRASH_AT: step } })
      await fsp.writeFile(join(mnt, 'README.md'), '# edited\n')
      await fsp.writeFile(join(mnt, 'src/main.ts'), 'changed\n')
      await fsp.writeFile(join(mnt, 'new.txt'), 'new\n')
      await fsp.rm(join(mnt, 'src/lib'), { recursive: true })
      await fsp.rename(join(mnt, 'gen/d1'), join(mnt, 'gen/moved'))
      const shown = await listFiles(mnt)
      let r = await scorpio(['status', '--json'], { env, cwd: mnt })
      const before = JSON.parse(r.stdout)
      assert.ok(before.changes.length > 5)
      r = await scorpio(['commit', '-m', 'doomed?'], { env, cwd: mnt })
      assert.is(r.status, 1, 'the commit loses its mount process')
      assert.is(await mount.exited, -1, 'the mount process was killed')
      mount = undefined
      // The kernel may still answer stat of the dead mount's root from its attribute cache, which
      // makes `scorpio mount` think it is alive: detach it here (this test is about the workspace).
      spawnSync('umount', ['-l', mnt])
      mount = await mountForeground([served.url, mnt], { env })
      assert.is(await listFiles(mnt), shown, 'the same files after remount')
      r = await scorpio(['status', '--json'], { env, cwd: mnt })
      const after = JSON.parse(r.stdout)
      if (after.base === before.base) {
        assert.is(step, 'journal-written')
        assert.equal(after.changes, before.changes)
      } else {
        assert.is(step, 'cleanup-midway')
        assert.equal(after.changes, [])
      }
    } finally {
      await mount?.stop()
      await served.close()
      box.cleanup()
    }
  })
}

test.run()
