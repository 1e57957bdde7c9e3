// status-cache.json: status answers from it only while the base and every upper entry are as they
// were; every kind of later change to the upper layer, and a new base, makes status recompute.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync, execFileSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { STATUS_CACHE, statusKey, writeStatusCache } from '../../lib/workspace/status_cache.ts'
import type { UDir } from '../../lib/workspace/upper_scan.ts'
import { edit, lowerOid, makeEnv, upperWhiteout, type Env } from './_env.ts'

const bin = join(process.cwd(), 'dist/scorpio.mjs')
const SENTINEL = [{ path: 'cached/answer', status: 'added' }]
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * Lets the upper layer age past the racy window, has status keep its answer, then swaps the kept
 * answer for a sentinel: while status returns the sentinel, it answered from the cache.
 */
async function poisonCache(env: Env): Promise<void> {
  await sleep(250)
  await env.ws.status()
  const file = join(env.stateDir, STATUS_CACHE)
  assert.ok(existsSync(file), 'status kept its answer')
  const c = JSON.parse(readFileSync(file, 'utf8'))
  c.result.changes = SENTINEL
  writeFileSync(file, JSON.stringify(c))
  assert.equal((await env.ws.status()).changes, SENTINEL, 'the kept answer is used while nothing changed')
}

async function assertFresh(env: Env, expected: { path: string; status: string }[], what: string): Promise<void> {
  assert.equal((await env.ws.status()).changes, expected, what)
}

test('a kept answer is used by the library and by the CLI while nothing changed', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'README.md', '# changed\n')
    await poisonCache(env)
    const r = spawnSync(process.execPath, [bin, 'status', '--json', '-C', env.stateDir])
    assert.is(r.status, 0, r.stderr.toString())
    assert.equal(JSON.parse(r.stdout.toString()), { base: env.head, changes: SENTINEL })
  } finally {
    await env.close()
  }
})

test('a change made within the racy window is not kept', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'README.md', '# changed\n')
    await env.ws.status()
    assert.not.ok(existsSync(join(env.stateDir, STATUS_CACHE)), 'nothing kept for a fresh edit')
  } finally {
    await env.close()
  }
})

test('every kind of upper change after the answer was kept makes status recompute', async () => {
  const env = await makeEnv()
  try {
    const readme = readFileSync(join(env.mirror, 'README.md'), 'utf8')
    edit.write(env, 'README.md', readme.replace(/.$/s, '!'))
    const modified = [{ path: 'README.md', status: 'modified' }]
    await assertFresh(env, modified, 'first status')

    await poisonCache(env)
    writeFileSync(join(env.upper, 'README.md'), readme) // same size, content back to the base's
    await assertFresh(env, [], 'content rewritten in place (same size)')

    edit.write(env, 'README.md', '# again\n')
    await poisonCache(env)
    chmodSync(join(env.upper, 'README.md'), 0o755)
    await assertFresh(env, [{ path: 'README.md', status: 'modified' }], 'exec bit (contents as the base would not matter)')

    await poisonCache(env)
    rmSync(join(env.upper, 'README.md'))
    await assertFresh(env, [], 'upper file removed')

    await poisonCache(env)
    mkdirSync(join(env.upper, 'src', 'lib'), { recursive: true })
    upperWhiteout(env, 'src/lib/util.ts')
    await assertFresh(env, [{ path: 'src/lib/util.ts', status: 'deleted' }], 'whiteout added in a deeper dir')

    await poisonCache(env)
    rmSync(join(env.upper, 'src', 'lib', 'util.ts'))
    mkdirSync(join(env.upper, 'pkg'), { recursive: true })
    execFileSync('setfattr', ['-n', 'user.scorpio.origin', '-v', `40000 ${lowerOid(env, 'src')}`, join(env.upper, 'pkg')])
    const got = (await env.ws.status()).changes
    assert.equal(got, await freshChanges(env), 'origin xattr set on a directory')
    assert.ok(got.some((c) => c.path.startsWith('pkg/')), 'pkg now shows the tree of src')
  } finally {
    await env.close()
  }
})

/** Status with the cache file removed first (the reference answer). */
async function freshChanges(env: Env): Promise<{ path: string; status: string }[]> {
  rmSync(join(env.stateDir, STATUS_CACHE), { force: true })
  return (await env.ws.status()).changes
}

test('a new base (commit) makes status recompute', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'README.md', '# changed\n')
    await poisonCache(env)
    await env.ws.commit({ message: 'c', author: 'A <a@example.com>' })
    await assertFresh(env, [], 'after commit')
  } finally {
    await env.close()
  }
})

test('nothing is kept for a CL workspace, nor for whole-second timestamps changed within 2 s', async () => {
  const env = await makeEnv()
  try {
    const file = join(env.stateDir, STATUS_CACHE)
    const result = { base: env.head, changes: [] }
    assert.is(statusKey({ ...env.ws.state, cl: '/some/cl' }), undefined, 'a CL layer can change beneath the upper layer')
    const now = Date.now()
    const upper = (coarse: boolean, age: number): UDir => ({
      kind: 'dir', abs: env.upper, opaque: false, children: new Map(),
      fingerprint: { entries: [[env.upper, 'missing']], newest: now - age, scannedAt: now, coarse },
    })
    await writeStatusCache(env.stateDir, statusKey(env.ws.state), upper(true, 1000), result)
    assert.not.ok(existsSync(file), 'whole seconds, 1 s old: racy')
    await writeStatusCache(env.stateDir, statusKey(env.ws.state), upper(false, 1000), result)
    assert.ok(existsSync(file), 'fine timestamps, 1 s old: kept')
    await writeStatusCache(env.stateDir, undefined, upper(false, 1000), result)
    assert.not.ok(existsSync(file), 'no key: nothing kept (and the old answer dropped)')
  } finally {
    await env.close()
  }
})

test.run()
