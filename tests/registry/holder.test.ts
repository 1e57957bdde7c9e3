// Locks that name their holder: created with their text in one step, taken over only from a holder
// that is gone.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLock, holderGone, holderText, removeLockIf } from '../../lib/registry/holder.ts'
import { withLock } from '../../lib/workspace/lock.ts'

const dir = mkdtempSync(join(tmpdir(), 'scorpio-holder-'))
test.after(() => rmSync(dir, { recursive: true, force: true }))

/** The pid of a process that has exited (and been reaped). */
const deadPid = () => spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout

test('of many at once, one creates the lock, and it holds its text from the start', async () => {
  const lock = join(dir, 'a.lock')
  const texts = Array.from({ length: 40 }, () => holderText())
  const won = await Promise.all(texts.map((t) => createLock(lock, t)))
  assert.is(won.filter(Boolean).length, 1)
  assert.is(readFileSync(lock, 'utf8'), texts[won.indexOf(true)])
  assert.equal(readdirSync(dir), ['a.lock'], 'no temporary file is left')
  await removeLockIf(lock, holderText())
  assert.is(readdirSync(dir).length, 1, 'a lock is removed only by the text it holds')
  await removeLockIf(lock, texts[won.indexOf(true)])
  assert.is(readdirSync(dir).length, 0)
})

test('a holder is gone when its pid is dead or another process; an empty or foreign lock only by age', () => {
  // Ages far from the bound: the spawns of dead pids may take seconds on a loaded machine.
  const DAY = 86_400_000
  const fresh = Date.now()
  const day = { mtimeMs: fresh, afterMs: DAY }
  const [pid, , host] = holderText().split(' ')
  const dead = deadPid()
  assert.not.ok(holderGone(holderText(), day))
  assert.ok(holderGone(`${dead} 1 ${host} t`, day), 'a dead pid')
  assert.ok(holderGone(`${pid} 999999999 ${host} t`, day), 'same pid, another start time: a later process')
  assert.ok(holderGone(dead, day), 'a pid alone (an older version) is judged by the pid')
  assert.not.ok(holderGone('', day), 'an empty lock is not judged abandoned while fresh')
  assert.ok(holderGone('', { mtimeMs: fresh - 2 * DAY, afterMs: DAY }))
  assert.not.ok(holderGone(`${dead} 1 another-host t`, day), 'another host: only age tells')
  assert.ok(holderGone(`${dead} 1 ${host} t`), 'without an age bound a dead holder is still gone')
  assert.not.ok(holderGone('', { mtimeMs: fresh - 2 * DAY, afterMs: Infinity }) || holderGone(''), 'without an age bound an empty lock is never gone')
})

test('a workspace lock of a dead process is taken over; one of this process says busy', async () => {
  const state = mkdtempSync(join(dir, 'ws-'))
  writeFileSync(join(state, 'lock'), deadPid())
  assert.is(await withLock(state, async () => readFileSync(join(state, 'lock'), 'utf8').split(' ')[0]), String(process.pid))
  assert.equal(readdirSync(state), [], 'released after the operation')
  await withLock(state, async () => {
    const err = await withLock(state, async () => 0).then(() => null, (e: Error) => e)
    assert.match(String(err?.message), /busy with another operation of this process/)
  })
})

test.run()
