// Several mounts started at once by one process whose handlers need the runtime's thread pool
// (as the overlay and the object store do): mountFuse must not tie up that pool waiting on its
// own mounts. It once stat()ed each fresh mountpoint, a GETATTR back to this process holding a
// thread-pool thread; with more mounts than threads (4 by default) nothing could answer.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { mountFuse, type FuseMount } from '../../lib/fuse/mod.ts'
import type * as R from '../../lib/fuse/raw_fs.ts'
import { MemFs } from '../helpers/mem_fs.ts'
import { forceUnmount, requireFuse, sh, tmpMountpoint } from '../helpers/mounts.ts'

const MOUNTS = 8

/** MemFs whose GETATTR first does a file read through the thread pool, like a store lookup. */
class PoolFs extends MemFs {
  override async getattr(c: R.RequestContext, i: R.GetattrIn): Promise<R.AttrOut> {
    await fsp.readFile('/proc/self/stat')
    return super.getattr(c, i)
  }
}

test(`${MOUNTS} mounts started at once, handlers using the thread pool`, async () => {
  requireFuse()
  const points = Array.from({ length: MOUNTS }, () => tmpMountpoint())
  const mounts: FuseMount[] = []
  try {
    const all = Promise.all(points.map(async (mnt) => {
      const m = await mountFuse(mnt, new PoolFs({ timeout: 0 }), { log: () => {} })
      mounts.push(m)
    }))
    const timedOut = new Promise<string>((r) => setTimeout(() => r('timed out'), 20_000).unref())
    assert.is(await Promise.race([all.then(() => 'mounted'), timedOut]), 'mounted')
    for (const mnt of points) {
      await sh('echo hi > f', { cwd: mnt })
      assert.is(await sh(`stat -c %s '${mnt}/f'`), '3\n')
    }
  } finally {
    await Promise.all(mounts.map((m) => Promise.race([m.unmount(), new Promise((r) => setTimeout(r, 10_000))]).catch(() => {})))
    for (const mnt of points) forceUnmount(mnt)
  }
})

test.run()
