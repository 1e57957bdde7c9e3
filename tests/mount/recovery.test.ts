// End to end: remount keeps edits and the base commit, kill -9 then mount again, server down.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { startGitServer } from '../helpers/git_server.ts'
import { commitFiles, makeBareRepo } from '../helpers/repos.ts'
import { exists, isMounted, mountForeground, requireFuse, sandbox, scorpio, serveRepo, type Sandbox, type Served } from './_cli.ts'

let sb: Sandbox
let served: Served

test.before(async () => {
  requireFuse()
  sb = sandbox()
  served = await serveRepo(50)
})
test.after(async () => {
  sb?.cleanup()
  await served?.close()
})

test('remount keeps the upper layer and the base commit, even after the remote moved', async () => {
  const mp = sb.dir('ws-remount')
  let m = await mountForeground([served.url, mp], { env: sb.env })
  try {
    await fsp.writeFile(join(mp, 'new.txt'), 'mine\n')
    await fsp.writeFile(join(mp, 'README.md'), 'edited\n')
    await fsp.rm(join(mp, 'empty.txt'))
  } finally {
    assert.is(await m.stop(), 0)
  }
  await commitFiles(served.repo.path, [{ path: 'README.md', content: 'moved on\n' }, { path: 'later.txt', content: 'later\n' }], { parent: served.repo.head })
  m = await mountForeground([served.url, mp], { env: sb.env })
  try {
    assert.is(await fsp.readFile(join(mp, 'new.txt'), 'utf8'), 'mine\n')
    assert.is(await fsp.readFile(join(mp, 'README.md'), 'utf8'), 'edited\n')
    assert.not.ok(await exists(join(mp, 'empty.txt')))
    assert.not.ok(await exists(join(mp, 'later.txt')), 'base commit kept')
    const list = JSON.parse((await scorpio(['list', '--json'], { env: sb.env })).stdout)
    assert.is(list.mounts.find((x: { mountpoint: string }) => x.mountpoint === mp)?.base, served.repo.head)
  } finally {
    await m.stop()
  }
})

test('a commit made inside the live mount moves its base (list shows it) and survives a remount', async () => {
  const mp = sb.dir('ws-commit')
  let m = await mountForeground([served.url, mp], { env: sb.env })
  let commit = ''
  try {
    await fsp.writeFile(join(mp, 'committed.txt'), 'in a commit\n')
    const c = await scorpio(['commit', '-m', 'local work', '--author', 'T <t@example.com>'], { env: sb.env, cwd: mp })
    assert.is(c.status, 0, c.stderr)
    commit = c.stdout.trim()
    assert.match(commit, /^[0-9a-f]{40}$/)
    assert.is(await fsp.readFile(join(mp, 'committed.txt'), 'utf8'), 'in a commit\n')
    const list = JSON.parse((await scorpio(['list', '--json'], { env: sb.env })).stdout)
    assert.is(list.mounts.find((x: { mountpoint: string }) => x.mountpoint === mp)?.base, commit)
  } finally {
    assert.is(await m.stop(), 0)
  }
  m = await mountForeground([served.url, mp], { env: sb.env })
  try {
    assert.is(await fsp.readFile(join(mp, 'committed.txt'), 'utf8'), 'in a commit\n')
    const st = await scorpio(['status', '--json'], { env: sb.env, cwd: mp })
    assert.is(JSON.parse(st.stdout).base, commit)
    assert.equal(JSON.parse(st.stdout).changes, [])
  } finally {
    await m.stop()
  }
})

test('kill -9 of the mount process: mounting again cleans the dead mount and keeps fsynced writes', async () => {
  const mp = sb.dir('ws-kill')
  const m = await mountForeground([served.url, mp], { env: sb.env })
  const fh = await fsp.open(join(mp, 'durable.txt'), 'w')
  await fh.writeFile('survives\n')
  await fh.sync()
  await fh.close()
  await m.stop('SIGKILL')
  assert.ok(isMounted(mp), 'the dead mount is still in mountinfo')
  const st = await fsp.stat(mp).then(() => 'ok', (e) => e.code)
  assert.is(st, 'ENOTCONN')
  const list = JSON.parse((await scorpio(['list', '--json'], { env: sb.env })).stdout)
  assert.not.ok(list.mounts.some((x: { mountpoint: string }) => x.mountpoint === mp), 'dead mount not listed')
  const again = await mountForeground([served.url, mp], { env: sb.env })
  try {
    assert.match(again.stderr(), /stale mount/)
    assert.is(await fsp.readFile(join(mp, 'durable.txt'), 'utf8'), 'survives\n')
  } finally {
    await again.stop()
  }
})

test('umount of a dead mount cleans it up', async () => {
  const mp = sb.dir('ws-dead')
  const m = await mountForeground([served.url, mp], { env: sb.env })
  await m.stop('SIGKILL')
  assert.ok(isMounted(mp))
  const u = await scorpio(['umount', mp], { env: sb.env })
  assert.is(u.status, 0, u.stderr)
  assert.not.ok(isMounted(mp))
})

test('server down: cached reads work, an uncached read fails with EIO in bounded time and a log line naming the file', async () => {
  const mp = sb.dir('ws-down')
  const env = { ...sb.env, XDG_CACHE_HOME: join(sb.root, 'cache-down') }
  const m = await mountForeground([served.url, mp, '--request-timeout', '5'], { env })
  try {
    const cached = await fsp.readFile(join(mp, 'gen/d0/f0.bin'))
    await served.server.close()
    assert.ok(Buffer.from(await fsp.readFile(join(mp, 'gen/d0/f0.bin'))).equals(cached))
    const err = await fsp.readFile(join(mp, 'gen/d1/f1.bin')).then(() => 'read', (e) => e.code)
    assert.is(err, 'EIO')
    // and the mount says which file and why (its stderr reaches us a moment after the errno); what
    // failed is its size when the mount had not learnt it yet, else its contents
    for (let t = 0; t < 100 && !m.stderr().includes('f1.bin'); t++) await new Promise((r) => setTimeout(r, 50))
    assert.match(m.stderr(), /^scorpio: cannot get (size|contents) of \/gen\/d1\/f1\.bin \([a-z-]+\): Cannot reach http:\/\/127\.0\.0\.1:\d+\/repo\.git/m, m.stderr())

    assert.is(m.stderr().split('\n').filter((l) => l.includes('f1.bin')).length, 1, 'one line for one failed read')
  } finally {
    await m.stop()
  }
})

test('a directory whose tree cannot come: EIO, and one line in the log naming it and why', async () => {
  const deep = await makeBareRepo({ files: [{ path: 'top.txt', content: 'top\n' }, { path: 'deep/l1/l2/l3/l4/l5/f.txt', content: 'deep\n' }] })
  const server = await startGitServer(join(deep.path, '..'))
  // The trees below the first levels never come: the mount's tree fetch and every later ask fail.
  let ready = false
  server.intercept = (req) => (req.path.endsWith('git-upload-pack') && (ready || req.body.includes('filter blob:none')) ? { status: 403, body: 'forbidden' } : undefined)
  const mp = sb.dir('ws-tree-down')
  const env = { ...sb.env, XDG_CACHE_HOME: join(sb.root, 'cache-tree-down') }
  const m = await mountForeground([server.url('repo.git'), mp], { env })
  try {
    ready = true
    assert.is(await fsp.readFile(join(mp, 'top.txt'), 'utf8').catch((e) => e.code), 'EIO', 'no contents either: the server refuses everything now')
    const err = await fsp.readdir(join(mp, 'deep/l1/l2/l3/l4/l5')).then(() => 'listed', (e) => e.code)
    assert.is(err, 'EIO')
    await fsp.readdir(join(mp, 'deep/l1/l2/l3/l4/l5')).catch(() => {})
    for (let t = 0; t < 100 && !m.stderr().includes('listing of'); t++) await new Promise((r) => setTimeout(r, 50))
    const lines = m.stderr().split('\n').filter((l) => l.includes('listing of'))
    assert.is(lines.length, 1, m.stderr())
    // The failed tree fetch kept nothing of the commit's trees: the first listing asked again is
    // the root's, or the directory's on the way when it was loaded.
    assert.match(lines[0], /^scorpio: cannot get the listing of \/(deep(\/l\d)*)? \([a-z-]+\): .*refused access \(HTTP 403\)/, lines[0])
  } finally {
    await m.stop()
    await server.close()
    deep.cleanup()
  }
})

test.run()
