// End to end: prefetch (--json, second run fetches nothing), wait for a `&` mount, --ephemeral.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdirSync, promises as fsp, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { isMounted, mountForeground, requireFuse, sandbox, scorpio, serveRepo, type Sandbox, type Served } from './_cli.ts'

let sb: Sandbox
let served: Served

test.before(async () => {
  requireFuse()
  sb = sandbox()
  served = await serveRepo(100)
})
test.after(async () => {
  sb?.cleanup()
  await served?.close()
})

/** Content fetches (`command=fetch`) the server answered since the last reset. */
const fetches = (): number => served.server.log.filter((r) => r.body.includes('command=fetch')).length

test('prefetch --json fetches a subtree in batches; the second run fetches nothing', async () => {
  const mp = sb.dir('ws-pf')
  const m = await mountForeground([served.url, mp], { env: sb.env })
  try {
    served.server.reset()
    const first = await scorpio(['prefetch', '--json'], { env: sb.env, cwd: join(mp, 'gen') })
    assert.is(first.status, 0, first.stderr)
    const doc = JSON.parse(first.stdout)
    assert.equal(Object.keys(doc).sort(), ['bytes', 'fetched', 'files', 'seconds'])
    assert.is(doc.files, 100)
    assert.is(doc.fetched, 100)
    assert.is(doc.bytes, 100 * 4096)
    assert.ok(served.server.requests < 20, `batched: ${served.server.requests} requests`)
    served.server.reset()
    const second = JSON.parse((await scorpio(['prefetch', '--json'], { env: sb.env, cwd: join(mp, 'gen') })).stdout)
    assert.is(second.files, 100)
    assert.is(second.fetched, 0)
    assert.is(fetches(), 0, 'nothing fetched on the second run')
    // the mount reads what prefetch fetched (the store is shared on disk) without fetching contents
    served.server.reset()
    assert.is((await fsp.readFile(join(mp, 'gen/d3/f13.bin'))).length, 4096)
    assert.is(fetches(), 0)
    // globs are relative to the current directory
    const glob = JSON.parse((await scorpio(['prefetch', '--json', '*.ts'], { env: sb.env, cwd: mp })).stdout)
    assert.is(glob.files, 2)
    const outside = await scorpio(['prefetch'], { env: sb.env, cwd: sb.root })
    assert.is(outside.status, 2, "outside any workspace is a usage error, as for the other workspace commands")
    assert.match(outside.stderr, /not inside a scorpio mount/)
  } finally {
    await m.stop()
  }
})

test('prefetch runs in the mount process: one fetch request, no capability round trip; paths still checked', async () => {
  const mp = sb.dir('ws-pf-ctl')
  const env = { ...sb.env, XDG_CACHE_HOME: join(sb.root, 'cache-pf-ctl') } // nothing fetched by the tests before
  const m = await mountForeground([served.url, mp], { env })
  try {
    await fsp.readFile(join(mp, 'README.md')) // the mount has spoken to the server
    served.server.reset()
    const r = await scorpio(['prefetch', '--json', 'gen/d1', 'gen/d2/f2.bin'], { env, cwd: mp })
    assert.is(r.status, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.is(doc.files, 11)
    assert.is(doc.fetched, 11)
    // a CLI process on its own would first ask for the capability advertisement (GET info/refs)
    assert.equal(served.server.log.map((x) => x.method), ['POST'], JSON.stringify(served.server.log.map((x) => x.path)))
    assert.is(fetches(), 1)
    // a file only the upper layer has is fine (nothing to fetch); a path that is nowhere is one line, exit 2
    await fsp.writeFile(join(mp, 'gen/mine.txt'), 'local\n')
    const local = await scorpio(['prefetch', '--json', 'gen/mine.txt', 'gen/d3'], { env, cwd: mp })
    assert.is(local.status, 0, local.stderr)
    assert.is(JSON.parse(local.stdout).files, 10)
    const bad = await scorpio(['prefetch', 'gen/nope'], { env, cwd: mp })
    assert.is(bad.status, 2)
    assert.is(bad.stderr, 'scorpio: No such file or directory: "gen/nope"\n')
  } finally {
    await m.stop()
  }
})

test('prefetch --record writes the paths a job read; --profile fetches them in one batch for the next job', async () => {
  const mp1 = sb.dir('ws-rec')
  const profile = join(sb.root, 'job.profile')
  const read = ['gen/d1/f21.bin', 'gen/d2/f32.bin', 'src/main.ts']
  let m = await mountForeground([served.url, mp1], { env: { ...sb.env, XDG_CACHE_HOME: join(sb.root, 'cache-rec1') } })
  try {
    for (const p of read) await fsp.readFile(join(mp1, p))
    // The mount appends its read log in batches, 200 ms after a read: wait for it (a loaded machine
    // can start the next command sooner than that).
    for (let i = 0; i < 50; i++) {
      const rec = await scorpio(['prefetch', '--record', profile], { env: sb.env, cwd: mp1 })
      assert.is(rec.status, 0, rec.stderr)
      if ((await fsp.readFile(profile, 'utf8')).trim().split('\n').length >= read.length) break
      await new Promise((r) => setTimeout(r, 100))
    }
    const r = await scorpio(['prefetch', '--record', profile], { env: sb.env, cwd: mp1 })
    assert.is(r.status, 0, r.stderr)
    assert.equal((await fsp.readFile(profile, 'utf8')).trim().split('\n'), [...read].sort())
  } finally {
    await m.stop()
  }
  const mp2 = sb.dir('ws-replay')
  const env2 = { ...sb.env, XDG_CACHE_HOME: join(sb.root, 'cache-rec2') }
  m = await mountForeground([served.url, mp2], { env: env2 })
  try {
    // The mount answers before all its trees are in; a deep lookup waits for them, so the counts
    // below see only what the prefetch asks for.
    for (const p of read) await fsp.stat(join(mp2, p))
    served.server.reset()
    const r = await scorpio(['prefetch', '--profile', profile, '--json'], { env: env2, cwd: mp2 })
    assert.is(r.status, 0, r.stderr)
    const doc = JSON.parse(r.stdout)
    assert.is(doc.files, 3)
    assert.is(doc.fetched, 3)
    assert.is(fetches(), 1, 'one batch')
    served.server.reset()
    for (const p of read) await fsp.readFile(join(mp2, p))
    assert.is(fetches(), 0, 'the job reads everything locally')
  } finally {
    await m.stop()
  }
})

test('wait: a mount started with & becomes ready', async () => {
  const mp = sb.dir('ws-wait')
  const m = await mountForeground([served.url, mp], { env: sb.env, waitReady: false })
  try {
    const w = await scorpio(['wait', mp, '--timeout', '60'], { env: sb.env })
    assert.is(w.status, 0, w.stderr)
    assert.is(await fsp.readFile(join(mp, 'README.md'), 'utf8'), '# test repo\n')
    const never = await scorpio(['wait', sb.dir('ws-never'), '--timeout', '0.5'], { env: sb.env })
    assert.is(never.status, 1)
  } finally {
    await m.stop()
  }
})

test('--ephemeral: the upper lives in a temp dir removed at umount', async () => {
  const mp = sb.dir('ws-eph')
  const r = await scorpio(['mount', served.url, mp, '--background', '--ephemeral'], { env: sb.env })
  assert.is(r.status, 0, r.stderr)
  let upper = ''
  try {
    await fsp.writeFile(join(mp, 'tmp.txt'), 'gone soon\n')
    const list = JSON.parse((await scorpio(['list', '--json'], { env: sb.env })).stdout)
    upper = list.mounts.find((x: { mountpoint: string }) => x.mountpoint === mp).upper
    assert.ok(existsSync(join(upper, 'tmp.txt')))
  } finally {
    assert.is((await scorpio(['umount', mp], { env: sb.env })).status, 0)
  }
  assert.not.ok(isMounted(mp))
  assert.not.ok(existsSync(upper), `${upper} removed`)
})

test('--ephemeral --background with --state: one temporary root, removed at umount', async () => {
  const mp = sb.dir('ws-eph-state')
  const tmp = sb.dir('tmp-eph-state')
  mkdirSync(tmp, { recursive: true })
  const env = { ...sb.env, TMPDIR: tmp }
  const r = await scorpio(['mount', served.url, mp, '--background', '--ephemeral', '--state', sb.dir('st-eph')], { env })
  assert.is(r.status, 0, r.stderr)
  try {
    await fsp.writeFile(join(mp, 'tmp.txt'), 'gone soon\n')
    const roots = readdirSync(tmp)
    assert.is(roots.length, 1, `one root, not one per process: ${roots}`)
    assert.ok(existsSync(join(tmp, roots[0], 'upper', 'tmp.txt')))
  } finally {
    assert.is((await scorpio(['umount', mp], { env })).status, 0)
  }
  assert.equal(readdirSync(tmp), [])
})

test.run()
