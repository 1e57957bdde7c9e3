import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, spawnSync } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { git } from '../helpers/repos.ts'
import { serveControl, workspaceHandlers } from '../../lib/workspace/control.ts'
import { openWorkspace } from '../../lib/workspace/workspace.ts'
import { edit, makeEnv, sh } from './_env.ts'

const bin = join(process.cwd(), 'dist/scorpio.mjs')
const ENV = { ...process.env, GIT_AUTHOR_NAME: 'Cli User', GIT_AUTHOR_EMAIL: 'cli@example.com' }

function run(args: string[], cwd = process.cwd()) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, env: ENV })
  return { code: r.status, out: r.stdout.toString(), err: r.stderr.toString() }
}

/** Like run, but asynchronous: needed when this process itself serves the control socket. */
function runAsync(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { env: ENV })
    let out = ''
    let err = ''
    child.stdout.on('data', (d) => (out += d))
    child.stderr.on('data', (d) => (err += d))
    child.on('close', (code) => resolve({ code, out, err }))
  })
}

test('offline (not mounted) with -C STATE_DIR: status, diff, commit, log, push, checkout, reset, restore', async () => {
  const env = await makeEnv()
  try {
    edit.write(env, 'README.md', '# cli\n')
    edit.write(env, 'added.txt', 'added\n')
    let r = run(['status', '--json', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    assert.equal(JSON.parse(r.out), { base: env.head, changes: [{ path: 'README.md', status: 'modified' }, { path: 'added.txt', status: 'added' }] })
    r = run(['diff', '-C', env.stateDir, 'README.md'])
    assert.is(r.code, 0, r.err)
    assert.match(r.out, /^\+# cli$/m)
    assert.not.match(r.out, /added.txt/)
    r = run(['commit', '-C', env.stateDir])
    assert.is(r.code, 2, 'missing -m is a usage error')
    r = run(['commit', '-m', 'from the cli', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    const commit = r.out.trim()
    assert.match(commit, /^[0-9a-f]{40}$/)
    r = run(['commit', '-m', 'again', '-C', env.stateDir])
    assert.is(r.code, 1)
    assert.match(r.err, /^scorpio: Nothing to commit/)
    assert.is(r.err.trim().split('\n').length, 1)
    r = run(['log', '--json', '-C', env.stateDir])
    const log = JSON.parse(r.out)
    assert.is(log[0].commit, commit)
    assert.is(log[0].pushed, false)
    assert.is(log[0].author.name, 'Cli User')
    r = run(['push', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    assert.is(git(env.repo.path, ['rev-parse', 'main']).trim(), commit)
    r = run(['checkout', env.head, '-C', env.stateDir, '--json'])
    assert.is(r.code, 0, r.err)
    assert.is(JSON.parse(r.out).to, env.head)
    edit.write(env, 'README.md', 'dirty\n')
    r = run(['checkout', 'main', '-C', env.stateDir])
    assert.is(r.code, 1)
    assert.match(r.err, /uncommitted change/)
    r = run(['restore', 'README.md', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    edit.write(env, 'x.txt', 'x\n')
    r = run(['reset', '--hard', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    r = run(['status', '--json', '-C', env.stateDir])
    assert.equal(JSON.parse(r.out).changes, [])
    r = run(['status', '-C', join(env.dir, 'nowhere')])
    assert.is(r.code, 2)
    assert.match(r.err, /neither a scorpio mountpoint nor a workspace state dir/)
  } finally {
    await env.close()
  }
})

test('with a live owner on the control socket, commands go through it and its hooks see base moves', async () => {
  const env = await makeEnv()
  const seen: { commit: string; paths: string[] }[] = []
  let quiesced = 0
  const owner = await openWorkspace(env.stateDir, {
    store: env.store,
    hooks: {
      async quiesce() {
        quiesced++
        return () => {}
      },
      async baseChanged(commit, paths) {
        seen.push({ commit, paths })
      },
    },
  })
  const server = await serveControl(env.stateDir, workspaceHandlers(owner))
  try {
    edit.write(env, 'dir/a.txt', 'a\n')
    let r = await runAsync(['status', '--json', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    assert.equal(JSON.parse(r.out).changes, [{ path: 'dir/a.txt', status: 'added' }])
    r = await runAsync(['commit', '-m', 'via socket', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    const commit = r.out.trim()
    // The changed entries only: the mount keeps the inodes of the directories above them.
    assert.equal(seen, [{ commit, paths: ['dir/a.txt'] }])
    assert.ok(quiesced >= 1)
    r = await runAsync(['checkout', 'HEAD~1', '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    assert.equal(seen[1].paths, ['dir/a.txt'], 'a checkout names the entries that differ, not the directories above them')
    r = await runAsync(['checkout', commit, '-C', env.stateDir])
    assert.is(r.code, 0, r.err)
    r = await runAsync(['commit', '-m', 'empty', '-C', env.stateDir])
    assert.is(r.code, 1)
    assert.match(r.err, /Nothing to commit/)
    const both = await Promise.all([runAsync(['status', '--json', '-C', env.stateDir]), runAsync(['log', '--json', '-C', env.stateDir])])
    assert.equal(both.map((x) => x.code), [0, 0], 'concurrent requests are queued, not refused')
    r = await runAsync(['restore', '-C', env.stateDir, 'nope'])
    assert.is(r.code, 2, 'a usage error stays a usage error across the socket')
  } finally {
    await server.close()
    await owner.close()
    await env.close()
  }
})

test.run()
