// Antares with real FUSE mounts over a real git http-backend, the server run as its own process
// (`scorpio antares serve`): jobs share one lower layer and one store, see none of each other's
// writes, and a blob one job fetched costs the next job nothing.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdirSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { api, isMounted, requireFuseOnly, sandbox, serveRepo, startAntaresCli, type Sandbox, type Served } from './_env.ts'

let sb: Sandbox
let served: Served

test.before(async () => {
  requireFuseOnly()
  sb = sandbox()
  served = await serveRepo(120)
})
test.after(async () => {
  sb?.cleanup()
  await served?.close()
})

function start(stateDir: string, cacheDir: string) {
  return startAntaresCli([served.url, '--bind', '127.0.0.1:0', '--state', stateDir, '--cache', cacheDir], sb.env)
}
/** The git server counts a reply's bytes when the CGI exits: wait until the counters stop moving. */
async function settle(): Promise<void> {
  let last = -1
  while (last !== served.server.bytesSent + served.server.requests) {
    last = served.server.bytesSent + served.server.requests
    await new Promise((r) => setTimeout(r, 200))
  }
}
const post = (base: string, path: string, body: unknown) => api(base, 'POST', path, body)
const get = (base: string, path: string, method = 'GET') => api(base, method, path)

const exists = (p: string) => fsp.lstat(p).then(() => true, () => false)

function blob(path: string): Buffer {
  return execFileSync('git', ['--git-dir', served.repo.path, 'show', `HEAD:${path}`])
}

test('two jobs: same contents, isolated writes both ways, shared fetches, subdir and CL jobs', async () => {
  const s = await start(sb.dir('state-a'), sb.dir('cache-a'))
  try {
    const j1 = await post(s.url, '/mounts', { job_id: 'job1', path: '/' })
    const j2 = await post(s.url, '/mounts', { job_id: 'job2', path: '/' })
    assert.is(j1.status, 200, JSON.stringify(j1.body))
    assert.is(j2.status, 200, JSON.stringify(j2.body))
    const [m1, m2] = [j1.body.mountpoint, j2.body.mountpoint]
    assert.ok(isMounted(m1) && isMounted(m2))
    assert.equal((await fsp.readdir(m1)).sort(), (await fsp.readdir(m2)).sort())

    // The first job's reads fetch; the second job's reads of the same files transfer nothing.
    const files = Array.from({ length: 20 }, (_, i) => `gen/d${i % 10}/f${i}.bin`)
    served.server.reset()
    for (const f of files) assert.ok((await fsp.readFile(join(m1, f))).equals(blob(f)), f)
    await settle()
    assert.ok(served.server.bytesSent > 20 * 4096, `job1 fetched ${served.server.bytesSent} bytes`)
    served.server.reset()
    for (const f of files) assert.ok((await fsp.readFile(join(m2, f))).equals(blob(f)), f)
    await settle()
    assert.is(served.server.requests, 0, 'job2 made no request')
    assert.is(served.server.bytesSent, 0, 'job2 transferred nothing')
    // GET /stats: the shared store fetched the 20 blobs once and answered job2's reads without the server.
    const st = await get(s.url, '/stats')
    assert.is(st.status, 200, JSON.stringify(st.body))
    assert.is(st.body.mount_count, 2)
    assert.ok(st.body.rss_bytes > 0)
    assert.ok(st.body.store.objectsFetched >= 20 && st.body.store.bytesFetched >= 20 * 4096, JSON.stringify(st.body))
    assert.ok(st.body.store.memoryHits + st.body.store.diskHits >= 20, JSON.stringify(st.body))

    // Writes in one job are invisible in the other, both ways.
    await fsp.writeFile(join(m1, 'only-in-1.txt'), 'one\n')
    await fsp.writeFile(join(m1, 'README.md'), 'changed by job1\n')
    await fsp.rm(join(m1, 'src/main.ts'))
    await fsp.writeFile(join(m2, 'only-in-2.txt'), 'two\n')
    await fsp.mkdir(join(m2, 'newdir'))
    assert.not.ok(await exists(join(m2, 'only-in-1.txt')))
    assert.not.ok(await exists(join(m1, 'only-in-2.txt')))
    assert.not.ok(await exists(join(m1, 'newdir')))
    assert.ok((await fsp.readFile(join(m2, 'README.md'))).equals(blob('README.md')))
    assert.is(await fsp.readFile(join(m1, 'README.md'), 'utf8'), 'changed by job1\n')
    assert.ok(await exists(join(m2, 'src/main.ts')))
    assert.not.ok(await exists(join(m1, 'src/main.ts')))
    // ... and landed in each job's own upper dir.
    const up1 = (await get(s.url, `/mounts/${j1.body.mount_id}`)).body.layers.upper
    const up2 = (await get(s.url, `/mounts/${j2.body.mount_id}`)).body.layers.upper
    assert.ok(await exists(join(up1, 'only-in-1.txt')))
    assert.ok(await exists(join(up2, 'only-in-2.txt')))
    assert.not.ok(await exists(join(up2, 'only-in-1.txt')))

    // A job on a subdirectory sees that directory as its root.
    const sub = await post(s.url, '/mounts', { job_id: 'sub', path: '/src/lib' })
    assert.is(sub.status, 200, JSON.stringify(sub.body))
    assert.equal((await fsp.readdir(sub.body.mountpoint)).sort(), ['deep', 'util.ts'])
    assert.ok((await fsp.readFile(join(sub.body.mountpoint, 'util.ts'))).equals(blob('src/lib/util.ts')))
    const bad = await post(s.url, '/mounts', { job_id: 'bad', path: '/no/such/dir' })
    assert.is(bad.status, 400)
    assert.match(bad.body.error, /not a directory/)

    // A local CL directory lies between upper and lower.
    const clDir = sb.dir('cl-1')
    mkdirSync(join(clDir, 'src'), { recursive: true })
    await fsp.writeFile(join(clDir, 'src/main.ts'), 'from the CL\n')
    const withCl = await post(s.url, '/mounts', { job_id: 'cl', path: '/', cl: clDir })
    assert.is(withCl.status, 200, JSON.stringify(withCl.body))
    assert.is(await fsp.readFile(join(withCl.body.mountpoint, 'src/main.ts'), 'utf8'), 'from the CL\n')
    const cleared = await fetch(`${s.url}/mounts/${withCl.body.mount_id}/cl`, { method: 'DELETE' })
    assert.is(cleared.status, 200)
    assert.ok((await fsp.readFile(join(withCl.body.mountpoint, 'src/main.ts'))).equals(blob('src/main.ts')))

    // /ready reports Ready; DELETE unmounts and removes the job's own upper.
    const ready = await get(s.url, `/mounts/${j1.body.mount_id}/ready`)
    assert.equal(ready.body, { mount_id: j1.body.mount_id, ready: true, state: 'Ready' })
    const del = await get(s.url, '/mounts/by-job/job1', 'DELETE')
    assert.is(del.body.state, 'Unmounted')
    assert.not.ok(isMounted(m1))
    assert.not.ok(await exists(up1))
    assert.ok(isMounted(m2), 'deleting job1 leaves job2 alone')
    assert.is(await fsp.readFile(join(m2, 'only-in-2.txt'), 'utf8'), 'two\n')
  } catch (err) {
    console.error(s.stderr())
    throw err
  } finally {
    assert.is(await s.stop(), 0, 'SIGTERM ends the server with exit 0')
  }
  assert.equal(sb.mountsUnder(), [], 'shutdown unmounted every job')
})

test('restart after SIGTERM and after kill -9: jobs come back mounted with their writes', async () => {
  const stateDir = sb.dir('state-b')
  const cacheDir = sb.dir('cache-b')
  let s = await start(stateDir, cacheDir)
  let mp = ''
  let id = ''
  try {
    const j = await post(s.url, '/mounts', { job_id: 'keep', path: '/' })
    assert.is(j.status, 200, JSON.stringify(j.body))
    ;({ mount_id: id, mountpoint: mp } = j.body)
    await fsp.writeFile(join(mp, 'survives.txt'), 'still here\n')
  } finally {
    assert.is(await s.stop(), 0)
  }
  assert.not.ok(isMounted(mp), 'unmounted at shutdown')
  s = await start(stateDir, cacheDir)
  try {
    const st = await waitState(s.url, 'keep', 'Ready')
    assert.is(st.mount_id, id)
    assert.ok(isMounted(mp))
    assert.is(await fsp.readFile(join(mp, 'survives.txt'), 'utf8'), 'still here\n')
    await fsp.writeFile(join(mp, 'second.txt'), 'written before the crash\n')
    await fsp.writeFile(join(mp, 'survives.txt'), 'changed\n')
  } finally {
    await s.stop('SIGKILL')
  }
  // kill -9 leaves a dead mount behind; the next start detaches it and mounts the job again.
  assert.ok(isMounted(mp), 'a crashed server leaves its mount')
  s = await start(stateDir, cacheDir)
  try {
    const st = await waitState(s.url, 'keep', 'Ready')
    assert.is(st.mount_id, id)
    assert.is(await fsp.readFile(join(mp, 'second.txt'), 'utf8'), 'written before the crash\n')
    assert.is(await fsp.readFile(join(mp, 'survives.txt'), 'utf8'), 'changed\n')
  } finally {
    assert.is(await s.stop(), 0)
  }
  assert.equal(sb.mountsUnder(), [])
})

async function waitState(base: string, job: string, want: string): Promise<any> {
  const end = Date.now() + 60_000
  for (;;) {
    const r = await get(base, `/mounts/by-job/${job}`)
    if (r.status === 200 && r.body.state === want) return r.body
    if (Date.now() > end) throw new Error(`job ${job} never reached ${want}: ${JSON.stringify(r.body)}`)
    await new Promise((res) => setTimeout(res, 50))
  }
}

test.run()
