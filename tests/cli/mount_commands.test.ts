// The mount-related commands' contract without a mount: exit codes, one-line errors, JSON shapes.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const CLI = resolve('dist/scorpio.mjs')
const root = mkdtempSync(join(tmpdir(), 'scorpio-cli-'))
const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: join(root, 'state'), XDG_CACHE_HOME: join(root, 'cache'), XDG_CONFIG_HOME: join(root, 'config') }
for (const k of Object.keys(env)) if (k.startsWith('SCORPIO_')) delete env[k]

function run(args: string[], cwd = root, extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8', timeout: 30_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

function oneLine(stderr: string): boolean {
  return stderr.trim().split('\n').length === 1 && stderr.startsWith('scorpio: ')
}

test('list --json with no mounts is {"mounts":[]}; plain list says so', () => {
  const j = run(['list', '--json'])
  assert.is(j.status, 0)
  assert.equal(JSON.parse(j.stdout), { mounts: [] })
  assert.match(run(['list']).stdout, /no scorpio mounts/)
})

test('umount where nothing is mounted: exit 0 with a notice', () => {
  const r = run(['umount', join(root, 'nowhere')])
  assert.is(r.status, 0)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.match(r.stderr, /nothing is mounted/)
})

test('wait gives up after --timeout with exit 1; a bad --timeout is a usage error', () => {
  const r = run(['wait', root, '--timeout', '0.2'])
  assert.is(r.status, 1)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.is(run(['wait', root, '--timeout', 'soon']).status, 2)
})

test('mount without MOUNTPOINT or remote: usage errors (exit 2)', () => {
  assert.is(run(['mount']).status, 2)
  const mp = join(root, 'mp')
  mkdirSync(mp, { recursive: true })
  const r = run(['mount', mp])
  assert.is(r.status, 2)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.match(r.stderr, /base_url/)
})

test('a broken scorpio.toml is a usage error naming the file', () => {
  const cwd = join(root, 'proj')
  mkdirSync(cwd, { recursive: true })
  writeFileSync(join(cwd, 'scorpio.toml'), 'base_urll = "http://x/r.git"\n')
  const r = run(['mount', 'ws'], cwd)
  assert.is(r.status, 2)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.match(r.stderr, /Unknown key "base_urll".*scorpio\.toml/)
  rmSync(join(cwd, 'scorpio.toml'))
  const bad = run(['mount', 'ws'], cwd, { SCORPIO_ALLOW_OTHER: 'perhaps' })
  assert.is(bad.status, 2)
  assert.match(bad.stderr, /SCORPIO_ALLOW_OTHER/)
})

test('mount on a missing directory: exit 1, one line that says what to do', () => {
  const r = run(['mount', 'http://127.0.0.1:9/r.git', join(root, 'missing')])
  assert.is(r.status, 1)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.match(r.stderr, /does not exist; create it/)
})

test('--background with a failing mount exits 1 with the reason', () => {
  const mp = join(root, 'bgfail')
  mkdirSync(mp)
  const r = run(['mount', join(root, 'no-such-repo.git'), mp, '--background'])
  assert.is(r.status, 1)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.match(r.stderr, /no-such-repo/)
})

test('--background --ephemeral failing: the reason reaches the caller and no temp dir is left', () => {
  const tmp = join(root, 'tmp')
  mkdirSync(tmp)
  const mp = join(root, 'bgfail-eph')
  mkdirSync(mp)
  const r = run(['mount', join(root, 'no-such-repo.git'), mp, '--background', '--ephemeral'], root, { TMPDIR: tmp })
  assert.is(r.status, 1)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.match(r.stderr, /no-such-repo/)
  assert.equal(readdirSync(tmp), [])
})

test('prefetch outside a mount: exit 2 (a usage error, as for the other workspace commands); --record with paths: exit 2', () => {
  const r = run(['prefetch', '--json'])
  assert.is(r.status, 2)
  assert.ok(oneLine(r.stderr), r.stderr)
  assert.is(run(['prefetch', '--record', 'x', 'a']).status, 2)
})

test.after(() => rmSync(root, { recursive: true, force: true }))
test.run()
