import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createWorkspaceState, defaultCacheDir, defaultStateDir, loadWorkspaceState, saveWorkspaceState } from '../../lib/workspace/state.ts'

const base = 'a'.repeat(40)

test('create, load and save round-trip; upper defaults inside the state dir', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-state-'))
  try {
    const s = await createWorkspaceState(join(dir, 'st'), { remote: { url: 'http://x/r.git' }, ref: 'main', base, mountpoint: '/mnt/x', cacheDir: join(dir, 'c') })
    assert.is(s.upperDir, join(dir, 'st', 'upper'))
    const loaded = await loadWorkspaceState(join(dir, 'st'))
    assert.equal(loaded, s)
    loaded.base = 'b'.repeat(40)
    await saveWorkspaceState(join(dir, 'st'), loaded)
    assert.is((await loadWorkspaceState(join(dir, 'st'))).base, 'b'.repeat(40))
    assert.equal(readdirSync(join(dir, 'st')).sort(), ['upper', 'workspace.json'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('missing or damaged state is a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'ws-state-'))
  try {
    assert.match(await loadWorkspaceState(dir).then(() => '', (e: Error) => e.message), /mount the workspace first/)
    writeFileSync(join(dir, 'workspace.json'), '{nope')
    assert.match(await loadWorkspaceState(dir).then(() => '', (e: Error) => e.message), /damaged/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('default dirs follow XDG variables and SCORPIO_CACHE', () => {
  const saved = { ...process.env }
  try {
    process.env.XDG_STATE_HOME = '/tmp/xs'
    process.env.XDG_CACHE_HOME = '/tmp/xc'
    delete process.env.SCORPIO_CACHE
    assert.match(defaultStateDir('/mnt/a'), /^\/tmp\/xs\/scorpio\/workspaces\/[0-9a-f]{16}$/)
    assert.is.not(defaultStateDir('/mnt/a'), defaultStateDir('/mnt/b'))
    assert.is(defaultStateDir('/mnt/a/'), defaultStateDir('/mnt/a'))
    assert.is(defaultCacheDir(), '/tmp/xc/scorpio')
    process.env.SCORPIO_CACHE = '/tmp/sc'
    assert.is(defaultCacheDir(), '/tmp/sc')
  } finally {
    process.env = saved
  }
})

test.run()
