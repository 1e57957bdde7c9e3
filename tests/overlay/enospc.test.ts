// Disk full in the upper: the caller gets ENOSPC and nothing already there is corrupted (copy-up
// goes through a temp file, so the old state stays whole).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { constants as C, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { MemStore } from './mem_store.ts'
import { openLower } from '../../lib/lower/mod.ts'
import { Overlay } from '../../lib/overlay/mod.ts'
import { snapshotOverlay, tmp } from './harness.ts'

test('ENOSPC on write and on copy-up; earlier state intact', async () => {
  if (process.getuid?.() !== 0) throw new Error('This test mounts a small tmpfs and needs root')
  const dir = tmp('scorpio-enospc-')
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', dir])
  try {
    const store = new MemStore()
    const big = 'B'.repeat(400 * 1024)
    const commit = store.commit({ 'small.txt': 'small\n', 'big.bin': big })
    const ov = new Overlay({ upperDir: join(dir, 'upper'), lower: await openLower(store, commit) })
    await ov.init()
    const h = await ov.create('kept.txt', 0o644, C.O_WRONLY)
    await ov.write(h, Buffer.from('kept\n'), 0)
    await ov.release(h)
    const before = await snapshotOverlay(ov)
    // Copy-up of a file bigger than the disk: ENOSPC, the lower file still reads whole.
    const err = await ov.open('big.bin', C.O_WRONLY).then(() => 'ok', (e) => e.code)
    assert.is(err, 'ENOSPC')
    assert.equal(await snapshotOverlay(ov), before)
    assert.equal(await fsp.readdir(join(dir, 'upper', '.scorpio-work')), [], 'no temp file left behind')
    // Plain writes past the end of the disk.
    const w = await ov.create('fill.bin', 0o644, C.O_WRONLY)
    let code = 'ok'
    try {
      for (let i = 0; i < 100; i++) await ov.write(w, Buffer.alloc(16 * 1024, 1), i * 16 * 1024)
    } catch (e) {
      code = (e as { code: string }).code
    }
    await ov.release(w)
    assert.is(code, 'ENOSPC')
    const after = await snapshotOverlay(ov)
    assert.is(after['kept.txt'], before['kept.txt'])
    assert.is(after['big.bin'], before['big.bin'])
  } finally {
    execFileSync('umount', ['-l', dir])
    await fsp.rm(dir, { recursive: true, force: true })
  }
})

test.run()
