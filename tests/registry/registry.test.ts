import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawnSync } from 'node:child_process'
import { findMount, findWorkspaceForPath, listMounts, parseMountInfo, registerMount, readMountInfo } from '../../lib/registry/mod.ts'

const dir = mkdtempSync(join(tmpdir(), 'scorpio-registry-'))

test('parseMountInfo reads mountpoint, fstype, device and unescapes spaces', () => {
  const text = '36 35 98:0 / /mnt/a\\040b rw,noatime master:1 - fuse.scorpio scorpio rw,user_id=0\n37 35 98:0 / /proc rw - proc proc rw\n'
  assert.equal(parseMountInfo(text), [
    { mountpoint: '/mnt/a b', fstype: 'fuse.scorpio', source: 'scorpio', dev: '98:0' },
    { mountpoint: '/proc', fstype: 'proc', source: 'proc', dev: '98:0' },
  ])
})

test('a record of a dead process is not listed and is removed', () => {
  const dead = spawnSync(process.execPath, ['-e', '0']).pid ?? 999999
  registerMount({ mountpoint: '/nonexistent/ws', remote: 'http://x', base: 'a'.repeat(40), upper: '/u', state: '/s', pid: dead, startedAt: '' }, { dir })
  assert.is(readdirSync(dir).length, 1)
  assert.equal(listMounts({ dir }), [])
  assert.is(readdirSync(dir).length, 0)
})

test('a live process whose mountpoint is not in mountinfo is not listed (but kept)', () => {
  registerMount({ mountpoint: '/nonexistent/ws2', remote: 'http://x', base: 'a'.repeat(40), upper: '/u', state: '/s', pid: process.pid, startedAt: '' }, { dir })
  assert.equal(listMounts({ dir }), [])
  assert.is(findMount('/nonexistent/ws2', { dir }), undefined)
  assert.ok(findMount('/nonexistent/ws2', { dir, includeStale: true }))
  assert.is(findWorkspaceForPath('/nonexistent/ws2/sub', { dir }), undefined)
})

test.after(() => rmSync(dir, { recursive: true, force: true }))
test.run()
