// End to end through dist/scorpio.mjs: a real mount of a real git http-backend.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { promises as fsp, writeFileSync, mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { git, lsTree } from '../helpers/repos.ts'
import { isMounted, mountForeground, requireFuse, sandbox, scorpio, serveRepo, type Sandbox, type Served } from './_cli.ts'

let sb: Sandbox
let served: Served

test.before(async () => {
  requireFuse()
  sb = sandbox()
  served = await serveRepo(200)
})
test.after(async () => {
  sb?.cleanup()
  await served?.close()
})

test('foreground mount prints exactly one ready line; listing and contents equal git', async () => {
  const mp = sb.dir('ws1')
  const m = await mountForeground([served.url, mp], { env: sb.env })
  try {
    assert.is(m.stdout(), `ready ${mp}\n`)
    const rows = lsTree(served.repo.path, 'HEAD')
    for (const row of rows) {
      const p = join(mp, row.path)
      const st = await fsp.lstat(p)
      if (row.mode === '040000' || row.mode === '160000') assert.ok(st.isDirectory(), row.path)
      else if (row.mode === '120000') assert.is(await fsp.readlink(p), git(served.repo.path, ['cat-file', 'blob', row.oid]), row.path)
      else {
        assert.ok(st.isFile(), row.path)
        assert.is(st.mode & 0o111 ? '100755' : '100644', row.mode, `mode of ${row.path}`)
      }
    }
    const top = (await fsp.readdir(mp)).sort()
    const want = rows.filter((r) => !r.path.includes('/')).map((r) => r.path).sort()
    assert.equal(top, want)
    for (const row of rows.filter((r) => r.type === 'blob' && r.mode !== '120000').slice(0, 40)) {
      const expected = execFileSync('git', ['--git-dir', served.repo.path, 'cat-file', 'blob', row.oid])
      assert.ok(Buffer.from(await fsp.readFile(join(mp, row.path))).equals(expected), `contents of ${row.path}`)
    }
  } finally {
    const code = await m.stop()
    assert.is(code, 0)
    assert.not.ok(isMounted(mp), 'unmounted on SIGTERM')
  }
})

test('laziness: reading 20 files transfers a small fraction of the repository', async () => {
  const mp = sb.dir('ws-lazy')
  const env = { ...sb.env, XDG_CACHE_HOME: join(sb.root, 'cache-lazy') }
  const m = await mountForeground([served.url, mp], { env })
  try {
    served.server.reset()
    for (let i = 0; i < 20; i++) {
      const data = await fsp.readFile(join(mp, `gen/d${i % 10}/f${i}.bin`))
      assert.is(data.length, 4096)
    }
    const total = 200 * 4096
    assert.ok(served.server.bytesSent > 20 * 4096 * 0.9, `fetched what was read (${served.server.bytesSent})`)
    assert.ok(served.server.bytesSent < total * 0.25, `transferred ${served.server.bytesSent} of ${total} bytes`)
  } finally {
    await m.stop()
  }
})

test('--background returns once ready; list --json shows it; umount stops it', async () => {
  const mp = sb.dir('ws-bg')
  const r = await scorpio(['mount', served.url, mp, '--background'], { env: sb.env })
  try {
    assert.is(r.status, 0, r.stderr)
    assert.is(r.stdout, `ready ${mp}\n`)
    assert.ok(isMounted(mp))
    assert.is(await fsp.readFile(join(mp, 'README.md'), 'utf8'), '# test repo\n')
    const list = await scorpio(['list', '--json'], { env: sb.env })
    assert.is(list.status, 0)
    const doc = JSON.parse(list.stdout)
    const entry = doc.mounts.find((x: { mountpoint: string }) => x.mountpoint === mp)
    assert.ok(entry, list.stdout)
    assert.is(entry.base, served.repo.head)
    assert.is(entry.remote, served.url)
    assert.type(entry.pid, 'number')
    assert.ok(entry.upper.length > 0)
  } finally {
    const u = await scorpio(['umount', mp], { env: sb.env })
    assert.is(u.status, 0, u.stderr)
  }
  assert.not.ok(isMounted(mp))
  const after = JSON.parse((await scorpio(['list', '--json'], { env: sb.env })).stdout)
  assert.equal(after.mounts, [])
  const again = await scorpio(['umount', mp], { env: sb.env })
  assert.is(again.status, 0)
  assert.match(again.stderr, /nothing is mounted/)
})

test('--rev takes an abbreviated commit id; a wrong one is one clear line', async () => {
  const mp = sb.dir('ws-short-rev')
  const bad = await scorpio(['mount', served.url, mp, '--background', '--rev', 'HEAD~7'], { env: sb.env })
  assert.is(bad.status, 2, bad.stderr)
  assert.match(bad.stderr, /^scorpio: "HEAD~7" goes past the history: commit [0-9a-f]{12} has no parent \(it is a root commit\)\n$/)
  assert.not.ok(isMounted(mp))
  const r = await scorpio(['mount', served.url, mp, '--background', '--rev', served.repo.head.slice(0, 7)], { env: sb.env })
  try {
    assert.is(r.status, 0, r.stderr)
    const doc = JSON.parse((await scorpio(['list', '--json'], { env: sb.env })).stdout)
    const entry = doc.mounts.find((x: { mountpoint: string }) => x.mountpoint === mp)
    assert.is(entry.base, served.repo.head)
  } finally {
    assert.is((await scorpio(['umount', mp], { env: sb.env })).status, 0)
  }
})

test('--background shows the notices its serving process printed before it was ready', async () => {
  // A remount of an existing workspace keeps its base and says so: with --background that line is
  // written by the detached child, and the user must still see it.
  const mp = sb.dir('ws-bg-notice')
  const first = await scorpio(['mount', served.url, mp, '--background'], { env: sb.env })
  assert.is(first.status, 0, first.stderr)
  assert.is(first.stderr, '')
  assert.is((await scorpio(['umount', mp], { env: sb.env })).status, 0)
  const again = await scorpio(['mount', served.url, mp, '--background', '--rev', 'refs/heads/elsewhere'], { env: sb.env })
  try {
    assert.is(again.status, 0, again.stderr)
    assert.is(again.stdout, `ready ${mp}\n`)
    assert.match(again.stderr, /^scorpio: keeping the workspace's base commit [0-9a-f]{12} \(use scorpio checkout refs\/heads\/elsewhere to move it\)\n$/)
  } finally {
    assert.is((await scorpio(['umount', mp], { env: sb.env })).status, 0)
  }
})

test('one workspace state cannot be served by two mounts at once', async () => {
  const state = join(sb.root, 'shared-state')
  const a = sb.dir('ws-a')
  const b = sb.dir('ws-b')
  const m = await mountForeground([served.url, a, '--state', state], { env: sb.env })
  try {
    const r = await scorpio(['mount', served.url, b, '--state', state], { env: sb.env })
    assert.is(r.status, 1)
    assert.is(r.stderr.trim().split('\n').length, 1)
    assert.match(r.stderr, /already mounted at/)
    assert.not.ok(isMounted(b))
  } finally {
    await m.stop()
  }
})

test('bad mountpoints: one clear line, exit 1; missing arguments: exit 2', async () => {
  const missing = await scorpio(['mount', served.url, join(sb.root, 'nope')], { env: sb.env })
  assert.is(missing.status, 1)
  assert.is(missing.stderr.trim().split('\n').length, 1)
  assert.match(missing.stderr, /does not exist/)
  const full = sb.dir('full')
  writeFileSync(join(full, 'x'), 'x')
  const notEmpty = await scorpio(['mount', served.url, full], { env: sb.env })
  assert.is(notEmpty.status, 1)
  assert.is(notEmpty.stderr.trim().split('\n').length, 1)
  assert.match(notEmpty.stderr, /not empty/)
  const none = await scorpio(['mount'], { env: sb.env })
  assert.is(none.status, 2)
  const noRemote = await scorpio(['mount', sb.dir('ws-noremote')], { env: sb.env, cwd: sb.root })
  assert.is(noRemote.status, 2)
  assert.match(noRemote.stderr, /base_url/)
})

test('base_url from scorpio.toml in the current directory', async () => {
  const cwd = sb.dir('proj')
  writeFileSync(join(cwd, 'scorpio.toml'), `base_url = "${served.url}"\n`)
  mkdirSync(join(cwd, 'ws'))
  const m = await mountForeground(['ws'], { env: sb.env, cwd })
  try {
    assert.is(m.stdout(), 'ready ws\n')
    assert.is(await fsp.readFile(join(cwd, 'ws', 'src/main.ts'), 'utf8'), 'export const x = 1\n')
  } finally {
    assert.is(await m.stop('SIGINT'), 0)
  }
})

test.run()
