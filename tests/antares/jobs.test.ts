// Concurrent CI jobs over one served repository, both ways a CI system may run them: separate
// `scorpio mount --background --upper` processes, and jobs of one `scorpio antares serve`.
// Every job writes; no job sees another's writes; the first job's reads fetch, later jobs' reads
// of the same files transfer nothing (one shared object store). Plus --ephemeral cleanup.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import {
  api, isMounted, requireFuseOnly, runCli, sandbox, serveRepo, settle, startAntaresCli, type Sandbox, type Served,
} from './_env.ts'

let sb: Sandbox
let served: Served

test.before(async () => {
  requireFuseOnly()
  sb = sandbox('scorpio-jobs-')
  served = await serveRepo(100)
})
test.after(async () => {
  sb?.cleanup()
  await served?.close()
})

const FILES = Array.from({ length: 20 }, (_, i) => `gen/d${i % 10}/f${i}.bin`)
const exists = (p: string) => fsp.lstat(p).then(() => true, () => false)
const blob = (path: string) => execFileSync('git', ['--git-dir', served.repo.path, 'show', `HEAD:${path}`])

/** Each job writes its own file and its own README; then every job checks all the others. */
async function checkIsolation(mountpoints: string[]): Promise<void> {
  await Promise.all(mountpoints.map(async (mp, i) => {
    await fsp.writeFile(join(mp, `job-${i}.txt`), `job ${i}\n`)
    await fsp.writeFile(join(mp, 'README.md'), `README of job ${i}\n`)
  }))
  for (const [i, mp] of mountpoints.entries()) {
    assert.is(await fsp.readFile(join(mp, 'README.md'), 'utf8'), `README of job ${i}\n`, `job ${i} README`)
    assert.is(await fsp.readFile(join(mp, `job-${i}.txt`), 'utf8'), `job ${i}\n`)
    for (let k = 0; k < mountpoints.length; k++) {
      if (k !== i) assert.not.ok(await exists(join(mp, `job-${k}.txt`)), `job ${i} must not see job ${k}'s file`)
    }
  }
}

/** Job 0 reads FILES (fetching them); every other job then reads them without fetching contents.
 *  `strict`: not one request at all (jobs of one antares server share the lower's in-memory sizes).
 *  Separate processes share the on-disk store but not sizes of blobs nobody fetched: their first
 *  stat in a directory still asks `object-info` for the sizes of the directory's other files. */
async function checkSharedFetches(mountpoints: string[], strict: boolean): Promise<void> {
  await settle(served.server)
  served.server.reset()
  for (const f of FILES) assert.ok((await fsp.readFile(join(mountpoints[0], f))).equals(blob(f)), f)
  await settle(served.server)
  const first = served.server.bytesSent
  assert.ok(first >= FILES.length * 4096, `the first job fetched ${first} bytes`)
  served.server.reset()
  for (const mp of mountpoints.slice(1)) {
    for (const f of FILES) assert.ok((await fsp.readFile(join(mp, f))).equals(blob(f)), `${mp}/${f}`)
  }
  await settle(served.server)
  const fetches = served.server.log.filter((r) => !r.body.includes('command=object-info'))
  assert.equal(fetches.map((r) => `${r.method} ${r.path}`), [], 'later jobs fetched no contents')
  if (strict) {
    assert.is(served.server.requests, 0, 'later jobs made no request')
    assert.is(served.server.bytesSent, 0, 'later jobs transferred nothing')
  } else {
    const perJob = served.server.bytesSent / (mountpoints.length - 1)
    assert.ok(perJob < first / 10, `each later job moved ${perJob} bytes of sizes, against ${first} bytes of contents`)
  }
}

for (const n of [2, 8]) {
  test(`${n} concurrent scorpio mount --background --upper processes: isolated, sharing one store`, async () => {
    const root = sb.dir(`procs-${n}`)
    const env = { ...sb.env, XDG_CACHE_HOME: join(root, 'cache') }
    const jobs = Array.from({ length: n }, (_, i) => ({
      mp: sb.dir(`procs-${n}/mnt${i}`),
      upper: join(root, `upper${i}`),
      state: join(root, `state${i}`),
    }))
    try {
      const results = await Promise.all(jobs.map((j) =>
        runCli(['mount', served.url, j.mp, '--background', '--upper', j.upper, '--state', j.state], { env })))
      for (const [i, r] of results.entries()) {
        assert.is(r.status, 0, `job ${i}: ${r.stderr}`)
        assert.is(r.stdout, `ready ${jobs[i].mp}\n`)
      }
      const mps = jobs.map((j) => j.mp)
      await checkSharedFetches(mps, false)
      await checkIsolation(mps)
      for (const [i, j] of jobs.entries()) {
        assert.ok(await exists(join(j.upper, `job-${i}.txt`)), `job ${i}'s write is in its own upper`)
      }
      // Stopping one job leaves the others serving.
      const stopped = await runCli(['umount', jobs[0].mp], { env })
      assert.is(stopped.status, 0, stopped.stderr)
      assert.not.ok(isMounted(jobs[0].mp))
      assert.is(await fsp.readFile(join(jobs[1].mp, 'job-1.txt'), 'utf8'), 'job 1\n')
    } finally {
      await Promise.all(jobs.map((j) => runCli(['umount', j.mp], { env })))
    }
    assert.equal(sb.mountsUnder().filter((m) => m.startsWith(root)), [])
  })
}

for (const n of [2, 8]) {
  test(`${n} concurrent antares jobs: isolated over one shared lower layer`, async () => {
    const root = sb.dir(`antares-${n}`)
    const s = await startAntaresCli([served.url, '--bind', '127.0.0.1:0', '--state', join(root, 'state'), '--cache', join(root, 'cache')], sb.env)
    try {
      const created = await Promise.all(Array.from({ length: n }, (_, i) => api(s.url, 'POST', '/mounts', { job_id: `ci-${i}`, path: '/' })))
      for (const c of created) assert.is(c.status, 200, JSON.stringify(c.body))
      const mps = created.map((c) => c.body.mountpoint as string)
      assert.is(new Set(mps).size, n)
      await checkSharedFetches(mps, true)
      await checkIsolation(mps)
      const list = await api(s.url, 'GET', '/mounts')
      assert.is(list.body.mounts.length, n)
      assert.ok(list.body.mounts.every((m: { state: string }) => m.state === 'Ready'))
      const del = await api(s.url, 'DELETE', '/mounts/by-job/ci-0')
      assert.is(del.body.state, 'Unmounted')
      assert.is(await fsp.readFile(join(mps[1], 'job-1.txt'), 'utf8'), 'job 1\n')
    } catch (err) {
      console.error(s.stderr())
      throw err
    } finally {
      assert.is(await s.stop(), 0)
    }
    assert.equal(sb.mountsUnder().filter((m) => m.startsWith(root)), [])
  })
}

test('--ephemeral: the upper lives in a temporary directory that umount removes', async () => {
  const mp = sb.dir('eph-mnt')
  const r = await runCli(['mount', served.url, mp, '--background', '--ephemeral'], { env: sb.env })
  assert.is(r.status, 0, r.stderr)
  let upper = ''
  try {
    await fsp.writeFile(join(mp, 'scratch.txt'), 'temporary\n')
    const list = await runCli(['list', '--json'], { env: sb.env })
    assert.is(list.status, 0, list.stderr)
    const rec = JSON.parse(list.stdout).mounts.find((m: { mountpoint: string }) => m.mountpoint === mp)
    assert.ok(rec, 'the mount is listed')
    assert.is(rec.ephemeral, true)
    upper = rec.upper
    assert.is(await fsp.readFile(join(upper, 'scratch.txt'), 'utf8'), 'temporary\n')
  } finally {
    const u = await runCli(['umount', mp], { env: sb.env })
    assert.is(u.status, 0, u.stderr)
  }
  assert.not.ok(isMounted(mp))
  assert.not.ok(await exists(upper), `the ephemeral upper ${upper} is gone`)
  assert.not.ok(await exists(join(upper, '..')), 'and so is its temporary root')
})

test.run()
