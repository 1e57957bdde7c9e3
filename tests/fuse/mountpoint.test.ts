// Mountpoint checks and mount life cycle: missing / non-empty mountpoints are clear errors, a stale
// (ENOTCONN) mount is cleaned with a notice, `closed` resolves on unmount from outside.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { checkMountpoint, mountFuse } from '../../lib/fuse/mod.ts'
import { run } from '../../lib/fuse/mount.ts'
import type { RawFileSystem } from '../../lib/fuse/mod.ts'
import { MemFs } from '../helpers/mem_fs.ts'
import { forceUnmount, requireFuse, sh, tmpMountpoint } from '../helpers/mounts.ts'

const mounted = (p: string) => readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === p)

test('a missing mountpoint is a clear error', async () => {
  const dir = join(tmpMountpoint(), 'nope')
  const err = await checkMountpoint(dir).then(() => null, (e: Error) => e)
  assert.ok(err)
  assert.match(err!.message, /does not exist: create it with mkdir -p/)
  const err2 = await mountFuse(dir, new MemFs()).then(() => null, (e: Error) => e)
  assert.match(String(err2?.message), /does not exist/)
})

test('a non-empty mountpoint and a file are clear errors', async () => {
  const dir = tmpMountpoint()
  writeFileSync(join(dir, 'x'), '')
  const err = await checkMountpoint(dir).then(() => null, (e: Error) => e)
  assert.match(String(err?.message), /is not empty \(1 entries\): choose an empty directory/)
  const err2 = await checkMountpoint(join(dir, 'x')).then(() => null, (e: Error) => e)
  assert.match(String(err2?.message), /is not a directory/)
})

test('a stale mount (ENOTCONN) is unmounted with a notice, then the mount works', async () => {
  requireFuse()
  const dir = tmpMountpoint()
  // Make a stale mount: mount a /dev/fuse fd nobody serves, then close it.
  const fd = openSync('/dev/fuse', 'r+')
  try {
    await run('mount', ['-i', '-t', 'fuse.scorpio', '-o', 'fd=3,rootmode=40000,user_id=0,group_id=0', 'stale', dir], fd)
  } finally {
    closeSync(fd)
  }
  try {
    assert.ok(mounted(dir))
    const lines: string[] = []
    await checkMountpoint(dir, { log: (l) => lines.push(l) })
    assert.match(lines.join('\n'), /stale FUSE mount/)
    assert.not.ok(mounted(dir))
    const mount = await mountFuse(dir, new MemFs(), { log: () => {} })
    try {
      await sh('echo fine > f && cat f', { cwd: dir })
    } finally {
      await mount.unmount()
    }
  } finally {
    forceUnmount(dir)
  }
})

test('closed resolves when the mount is unmounted from outside; unmount() is then a no-op', async () => {
  requireFuse()
  const dir = tmpMountpoint()
  let destroyed = 0
  const fs = new MemFs()
  ;(fs as RawFileSystem).destroy = () => { destroyed++ }
  const mount = await mountFuse(dir, fs, { log: () => {} })
  try {
    await sh('mkdir sub', { cwd: dir })
    await sh(`umount ${dir}`)
    await mount.closed
    assert.is(destroyed, 1)
    await mount.unmount()
    assert.not.ok(mounted(dir))
  } finally {
    forceUnmount(dir)
  }
})

test('unmount() while a file is open falls back to a lazy unmount and still ends the session', async () => {
  requireFuse()
  const dir = tmpMountpoint()
  const mount = await mountFuse(dir, new MemFs(), { log: () => {} })
  await sh('echo x > f', { cwd: dir })
  const marker = join(tmpMountpoint(), 'opened')
  const holder = sh(`exec 9<f; touch ${marker}; sleep 3`, { cwd: dir }).catch(() => {})
  try {
    while (!existsSync(marker)) await new Promise((r) => setTimeout(r, 20))
    await mount.unmount()
    assert.not.ok(mounted(dir))
  } finally {
    forceUnmount(dir)
  }
  await holder
})

test.run()
