// canonicalPath: the real path of a mountpoint named through symlinks, found without visiting any
// mountpoint the kernel lists (a hung mount would hang the lookup) nor anything inside a FUSE mount.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { canonicalPath } from '../../lib/registry/mod.ts'
import type { MountInfoEntry } from '../../lib/registry/mod.ts'

const entry = (mountpoint: string, fstype = 'fuse.scorpio'): MountInfoEntry => ({ mountpoint, fstype, source: 'scorpio', dev: '0:99' })

test('symlinks on the way are resolved: absolute, relative, chained, with ..', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'scorpio-real-')))
  try {
    mkdirSync(join(root, 'a/real'), { recursive: true })
    symlinkSync(join(root, 'a/real'), join(root, 'abs'))
    symlinkSync('a/real', join(root, 'rel'))
    symlinkSync('rel', join(root, 'chain'))
    mkdirSync(join(root, 'b'))
    symlinkSync('../a', join(root, 'b/up'))
    const real = join(root, 'a/real')
    for (const p of ['abs', 'rel', 'chain', 'b/up/real', 'a/./real', 'b/../abs']) assert.is(canonicalPath(join(root, p), []), real, p)
    assert.is(canonicalPath(join(root, 'abs/not/yet'), []), join(real, 'not/yet'), 'a missing tail is kept as written')
    symlinkSync('loop', join(root, 'loop'))
    assert.is(canonicalPath(join(root, 'loop/x'), []), join(root, 'loop/x'), 'a loop: the absolute path as given')
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test('a listed mountpoint is not visited, nor is anything inside a FUSE mount', () => {
  const root = realpathSync(mkdtempSync(join(tmpdir(), 'scorpio-real-')))
  try {
    mkdirSync(join(root, 'elsewhere/deeper'), { recursive: true })
    // Symlinks standing where mountinfo says mounts are: resolving them would mean an lstat there.
    symlinkSync(join(root, 'elsewhere'), join(root, 'mnt'))
    assert.is(canonicalPath(join(root, 'mnt/deeper'), []), join(root, 'elsewhere/deeper'), 'not a mount: resolved')
    assert.is(canonicalPath(join(root, 'mnt/deeper'), [entry(join(root, 'mnt'))]), join(root, 'mnt/deeper'), 'a FUSE mount: kept')
    symlinkSync(join(root, 'elsewhere'), join(root, 'other'))
    assert.is(canonicalPath(join(root, 'other'), [entry(join(root, 'other'), 'ext4')]), join(root, 'other'), 'any mountpoint is not visited')
    // Through a symlink to a mountpoint: the link is read, the mountpoint is not.
    symlinkSync(join(root, 'mnt'), join(root, 'link'))
    assert.is(canonicalPath(join(root, 'link/x'), [entry(join(root, 'mnt'))]), join(root, 'mnt/x'))
  } finally {
    rmSync(root, { recursive: true, force: true })
  }
})

test.run()
