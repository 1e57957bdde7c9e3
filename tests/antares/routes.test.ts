// Every Antares route and its error cases over a real HTTP client, against the real service and
// state file, with a recording mounter in place of FUSE (the real mounts: antares_fuse.test.ts).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, existsSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serveAntares, type RunningAntares } from '../../lib/antares/mod.ts'
import { gate, RecordingMounter } from './_recording_mounter.ts'

const quiet = () => {}
const temps: string[] = []
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'antares-routes-'))
  temps.push(d)
  return d
}

async function call(base: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers }
}

async function withServer(fn: (s: RunningAntares, m: RecordingMounter, stateDir: string) => Promise<void>, opts: { token?: string; stateDir?: string; mounter?: RecordingMounter } = {}) {
  const stateDir = opts.stateDir ?? tempDir()
  const mounter = opts.mounter ?? new RecordingMounter()
  const s = await serveAntares(mounter, { stateDir, bind: '127.0.0.1:0', token: opts.token, log: quiet })
  try {
    await fn(s, mounter, stateDir)
  } finally {
    await s.close()
  }
}

test('GET /health reports healthy, the mount count and the mounter description', () =>
  withServer(async (s) => {
    const r = await call(s.url, 'GET', '/health')
    assert.is(r.status, 200)
    assert.is(r.body.status, 'healthy')
    assert.is(r.body.mount_count, 0)
    assert.type(r.body.uptime_secs, 'number')
    assert.is(r.body.remote, 'test://recording')
  }))

test('POST /mounts mounts a job; GET /mounts, /mounts/{id}, /by-job, /ready describe it', () =>
  withServer(async (s, m, stateDir) => {
    const c = await call(s.url, 'POST', '/mounts', { job_id: 'job-1', path: 'src/app/' })
    assert.is(c.status, 200)
    assert.match(c.body.mount_id, /^[0-9a-f-]{36}$/)
    assert.is(c.body.mountpoint, join(stateDir, 'mounts', c.body.mount_id))
    assert.ok(existsSync(c.body.mountpoint))
    assert.equal(m.mounts.map((x) => x.path), ['/src/app'])
    const one = await call(s.url, 'GET', `/mounts/${c.body.mount_id}`)
    assert.is(one.status, 200)
    assert.is(one.body.job_id, 'job-1')
    assert.is(one.body.path, '/src/app')
    assert.is(one.body.state, 'Ready')
    assert.equal(one.body.layers, { upper: join(stateDir, 'upper', c.body.mount_id), cl: null, dicfuse: 'shared' })
    assert.type(one.body.created_at_epoch_ms, 'number')
    const list = await call(s.url, 'GET', '/mounts')
    assert.equal(list.body.mounts.map((x: { mount_id: string }) => x.mount_id), [c.body.mount_id])
    const byJob = await call(s.url, 'GET', '/mounts/by-job/job-1')
    assert.equal(byJob.body, one.body)
    const ready = await call(s.url, 'GET', `/mounts/${c.body.mount_id}/ready`)
    assert.equal(ready.body, { mount_id: c.body.mount_id, ready: true, state: 'Ready' })
    // Mega's mono server serves the same routes under /antares.
    const prefixed = await call(s.url, 'GET', `/antares/mounts/${c.body.mount_id}`)
    assert.is(prefixed.body.mount_id, c.body.mount_id)
    // The state file already knows the job.
    const doc = JSON.parse(readFileSync(join(stateDir, 'antares.json'), 'utf8'))
    assert.equal(doc.mounts.map((r: { job_id: string }) => r.job_id), ['job-1'])
  }))

test('Mounted becomes Ready only when the mount is warm', async () => {
  const mounter = new RecordingMounter()
  mounter.holdReady = gate()
  await withServer(async (s) => {
    const c = await call(s.url, 'POST', '/mounts', { path: '/' })
    const before = await call(s.url, 'GET', `/mounts/${c.body.mount_id}/ready`)
    assert.equal(before.body, { mount_id: c.body.mount_id, ready: false, state: 'Mounted' })
    mounter.holdReady!.open()
    await new Promise((r) => setTimeout(r, 20))
    const after = await call(s.url, 'GET', `/mounts/${c.body.mount_id}/ready`)
    assert.is(after.body.ready, true)
    assert.is(after.body.state, 'Ready')
  }, { mounter })
})

test('bad requests are 400 with a code: empty path, "..", bad JSON, unknown field, relative upper, non-object', () =>
  withServer(async (s, m) => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ path: '' }, 'INVALID_REQUEST', /path cannot be empty/],
      [{}, 'INVALID_REQUEST', /path cannot be empty/],
      [{ path: '/a/../b' }, 'INVALID_REQUEST', /\.\./],
      ['{"path": ', 'BAD_PAYLOAD', /not valid JSON/],
      ['', 'BAD_PAYLOAD', /empty/],
      [[1, 2], 'BAD_PAYLOAD', /JSON object/],
      [{ path: '/', mountpoint: '/x' }, 'INVALID_REQUEST', /unknown field "mountpoint"/],
      [{ path: '/', upper: 'rel/dir' }, 'INVALID_REQUEST', /absolute/],
      [{ path: '/', job_id: '' }, 'INVALID_REQUEST', /job_id/],
      [{ path: '/', cl: '/no/such/dir' }, 'INVALID_REQUEST', /does not exist/],
      [{ path: '/', cl: 'bad link!' }, 'INVALID_REQUEST', /neither/],
    ]
    for (const [body, code, message] of cases) {
      const r = await call(s.url, 'POST', '/mounts', body)
      assert.is(r.status, 400, JSON.stringify(body))
      assert.is(r.body.code, code, JSON.stringify(body))
      assert.match(r.body.error, message)
    }
    assert.is(m.mounts.length, 0)
  }))

test('unknown ids are 404 NOT_FOUND on every per-mount route; unknown routes 404; wrong methods 405', () =>
  withServer(async (s) => {
    const id = '00000000-0000-0000-0000-000000000000'
    for (const [method, path] of [['GET', `/mounts/${id}`], ['DELETE', `/mounts/${id}`], ['GET', `/mounts/${id}/ready`], ['DELETE', `/mounts/${id}/cl`], ['GET', '/mounts/by-job/nope'], ['DELETE', '/mounts/by-job/nope']]) {
      const r = await call(s.url, method, path)
      assert.is(r.status, 404, `${method} ${path}`)
      assert.is(r.body.code, 'NOT_FOUND')
    }
    const cl = await call(s.url, 'POST', `/mounts/${id}/cl`, { cl: 'CL1' })
    assert.is(cl.status, 404)
    const route = await call(s.url, 'GET', '/nothing/here')
    assert.is(route.status, 404)
    assert.is(route.body.code, 'NOT_FOUND')
    const method = await call(s.url, 'PUT', '/mounts')
    assert.is(method.status, 405)
    assert.is(method.body.code, 'METHOD_NOT_ALLOWED')
    assert.is(method.headers.get('allow'), 'GET, POST')
  }))

test('the same job_id is idempotent, also for eight concurrent requests; different jobs get different mounts', async () => {
  const mounter = new RecordingMounter()
  mounter.holdMount = gate()
  await withServer(async (s) => {
    const pending = Array.from({ length: 8 }, () => call(s.url, 'POST', '/mounts', { job_id: 'same', path: '/' }))
    const other = call(s.url, 'POST', '/mounts', { job_id: 'other', path: '/' })
    await new Promise((r) => setTimeout(r, 50))
    const during = await call(s.url, 'GET', '/mounts/by-job/same')
    assert.is(during.body.state, 'Provisioning')
    mounter.holdMount!.open()
    const results = await Promise.all(pending)
    assert.ok(results.every((r) => r.status === 200))
    assert.is(new Set(results.map((r) => r.body.mount_id)).size, 1)
    const o = await other
    assert.is.not(o.body.mount_id, results[0].body.mount_id)
    assert.is(mounter.mounts.length, 2)
    const again = await call(s.url, 'POST', '/mounts', { job_id: 'same', path: '/' })
    assert.is(again.body.mount_id, results[0].body.mount_id)
    assert.is(mounter.mounts.length, 2)
    const clash = await call(s.url, 'POST', '/mounts', { job_id: 'same', path: '/other' })
    assert.is(clash.status, 400)
    assert.match(clash.body.error, /already mounted with path "\/"/)
  }, { mounter })
})

test('a failing mount is 500 FUSE_ERROR and state Failed{reason}; the same job_id retries it', async () => {
  const mounter = new RecordingMounter()
  mounter.failNext = new Error('fusermount3: mount failed: Operation not permitted')
  await withServer(async (s) => {
    const r = await call(s.url, 'POST', '/mounts', { job_id: 'flaky', path: '/' })
    assert.is(r.status, 500)
    assert.is(r.body.code, 'FUSE_ERROR')
    assert.match(r.body.error, /Operation not permitted/)
    const st = await call(s.url, 'GET', '/mounts/by-job/flaky')
    assert.equal(st.body.state, { Failed: { reason: 'fusermount3: mount failed: Operation not permitted' } })
    const h = await call(s.url, 'GET', '/health')
    assert.is(h.body.status, 'degraded')
    const retry = await call(s.url, 'POST', '/mounts', { job_id: 'flaky', path: '/' })
    assert.is(retry.status, 200)
    assert.is(retry.body.mount_id, st.body.mount_id)
    assert.is((await call(s.url, 'GET', '/mounts/by-job/flaky')).body.state, 'Ready')
  }, { mounter })
})

test('DELETE unmounts, answers Unmounted, forgets the job and removes its own upper but never a given one', () =>
  withServer(async (s, m) => {
    const own = await call(s.url, 'POST', '/mounts', { job_id: 'a', path: '/' })
    const givenUpper = join(tempDir(), 'upper-b')
    const given = await call(s.url, 'POST', '/mounts', { job_id: 'b', path: '/', upper: givenUpper })
    const ownUpper = (await call(s.url, 'GET', `/mounts/${own.body.mount_id}`)).body.layers.upper
    assert.ok(existsSync(join(ownUpper, '.mounted-by-test')))
    const d1 = await call(s.url, 'DELETE', `/mounts/${own.body.mount_id}`)
    assert.is(d1.status, 200)
    assert.is(d1.body.state, 'Unmounted')
    assert.not.ok(existsSync(ownUpper))
    assert.not.ok(existsSync(own.body.mountpoint))
    const d2 = await call(s.url, 'DELETE', '/mounts/by-job/b')
    assert.is(d2.body.state, 'Unmounted')
    assert.ok(existsSync(join(givenUpper, '.mounted-by-test')))
    assert.equal(m.unmounts.sort(), [own.body.mount_id, given.body.mount_id].sort())
    assert.equal((await call(s.url, 'GET', '/mounts')).body.mounts, [])
    assert.is((await call(s.url, 'GET', `/mounts/${own.body.mount_id}`)).status, 404)
    const doc = JSON.parse(readFileSync(join(s.service.stateDir, 'antares.json'), 'utf8'))
    assert.equal(doc.mounts, [])
    // After delete the job_id is free again.
    const reuse = await call(s.url, 'POST', '/mounts', { job_id: 'a', path: '/' })
    assert.is.not(reuse.body.mount_id, own.body.mount_id)
  }))

test('two jobs may not share an upper dir', () =>
  withServer(async (s) => {
    const upper = join(tempDir(), 'shared-upper')
    assert.is((await call(s.url, 'POST', '/mounts', { job_id: 'x', path: '/', upper })).status, 200)
    const r = await call(s.url, 'POST', '/mounts', { job_id: 'y', path: '/', upper })
    assert.is(r.status, 400)
    assert.match(r.body.error, /already used by mount/)
  }))

test('POST/DELETE /mounts/{id}/cl switch the CL layer in place, or by remounting when the mounter cannot', async () => {
  const clDir = tempDir()
  for (const inPlace of [true, false]) {
    const mounter = new RecordingMounter()
    mounter.inPlaceCl = inPlace
    await withServer(async (s) => {
      const c = await call(s.url, 'POST', '/mounts', { job_id: 'j', path: '/' })
      const set = await call(s.url, 'POST', `/mounts/${c.body.mount_id}/cl`, { cl: clDir })
      assert.is(set.status, 200)
      assert.is(set.body.cl, clDir)
      assert.is(set.body.layers.cl, clDir)
      assert.is(set.body.state, 'Ready')
      const bad = await call(s.url, 'POST', `/mounts/${c.body.mount_id}/cl`, { nope: 1 })
      assert.is(bad.status, 400)
      const badJson = await call(s.url, 'POST', `/mounts/${c.body.mount_id}/cl`, '{')
      assert.is(badJson.body.code, 'BAD_PAYLOAD')
      const cleared = await call(s.url, 'DELETE', `/mounts/${c.body.mount_id}/cl`)
      assert.is(cleared.body.cl, null)
      if (inPlace) {
        assert.equal(mounter.clChanges, [{ mountId: c.body.mount_id, cl: clDir }, { mountId: c.body.mount_id, cl: undefined }])
        assert.is(mounter.mounts.length, 1)
      } else {
        assert.equal(mounter.mounts.map((x) => x.cl), [undefined, clDir, undefined])
        assert.is(mounter.unmounts.length, 2)
      }
      const doc = JSON.parse(readFileSync(join(s.service.stateDir, 'antares.json'), 'utf8'))
      assert.is(doc.mounts[0].cl, null)
    }, { mounter })
  }
})

test('a token guards every route but /health: missing or wrong is 401, right is 200', () =>
  withServer(async (s) => {
    const token = 'abcdefghijklmnop0123'
    assert.is((await call(s.url, 'GET', '/health')).status, 200)
    const none = await call(s.url, 'GET', '/mounts')
    assert.is(none.status, 401)
    assert.is(none.body.code, 'UNAUTHORIZED')
    assert.is((await call(s.url, 'GET', '/mounts', undefined, { authorization: 'Bearer wrong-token-xxxxxxxx' })).status, 401)
    assert.is((await call(s.url, 'POST', '/mounts', { path: '/' }, { authorization: 'Basic abc' })).status, 401)
    assert.is((await call(s.url, 'GET', '/mounts', undefined, { authorization: `Bearer ${token}` })).status, 200)
  }, { token: 'abcdefghijklmnop0123' }))

test('a non-loopback bind without a token is refused before anything is claimed; a short token too', async () => {
  const stateDir = tempDir()
  for (const [bind, token, message] of [['0.0.0.0:0', undefined, /without a token/], ['127.0.0.1:0', 'short', /at least 16/]] as const) {
    try {
      await serveAntares(new RecordingMounter(), { stateDir, bind, token, log: quiet })
      assert.unreachable('should refuse')
    } catch (err) {
      assert.match((err as Error).message, message)
    }
  }
  assert.not.ok(existsSync(join(stateDir, 'antares.pid')))
})

test('restart: jobs come back from the state file with the same ids, mountpoints and uppers', async () => {
  const stateDir = tempDir()
  const first = new RecordingMounter()
  let ids: string[] = []
  await withServer(async (s) => {
    const a = await call(s.url, 'POST', '/mounts', { job_id: 'ra', path: '/' })
    const b = await call(s.url, 'POST', '/mounts', { path: '/lib' })
    ids = [a.body.mount_id, b.body.mount_id]
  }, { stateDir, mounter: first })
  // Shutdown unmounted both but kept them in the state file.
  assert.equal(first.unmounts.sort(), [...ids].sort())
  assert.ok(first.closed)
  const second = new RecordingMounter()
  await withServer(async (s) => {
    await s.restored
    const list = (await call(s.url, 'GET', '/mounts')).body.mounts
    assert.equal(list.map((x: { mount_id: string }) => x.mount_id).sort(), [...ids].sort())
    assert.ok(list.every((x: { state: string }) => x.state === 'Ready'))
    assert.equal(second.mounts.map((x) => x.mountId).sort(), [...ids].sort())
    assert.equal(second.mounts.find((x) => x.mountId === ids[1])!.path, '/lib')
    const again = await call(s.url, 'POST', '/mounts', { job_id: 'ra', path: '/' })
    assert.is(again.body.mount_id, ids[0])
    assert.is(second.mounts.length, 2)
  }, { stateDir, mounter: second })
})

test('a second server on the same state dir is refused while the first runs', () =>
  withServer(async (_s, _m, stateDir) => {
    const { spawnSync } = await import('node:child_process')
    // A different process is needed: the pid file names this one.
    const script = `import { serveAntares } from './lib/antares/mod.ts'
      try { await serveAntares({ mount: async () => ({ unmount: async () => {} }) }, { stateDir: ${JSON.stringify(stateDir)}, bind: '127.0.0.1:0', log: () => {} }); console.log('started') }
      catch (e) { console.log(e.message) } process.exit(0)`
    const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' })
    assert.match(r.stdout, /Another antares server \(pid \d+\) uses state dir/)
  }))

test('during shutdown every request is 503 SHUTDOWN and new mounts are refused', async () => {
  const mounter = new RecordingMounter()
  const stateDir = tempDir()
  const s = await serveAntares(mounter, { stateDir, bind: '127.0.0.1:0', log: quiet })
  const { listenAntares } = await import('../../lib/antares/mod.ts')
  const side = await listenAntares(s.service, { bind: '127.0.0.1:0', log: quiet })
  await call(s.url, 'POST', '/mounts', { job_id: 'z', path: '/' })
  const desc = s.service.describeByJob('z')
  assert.is(desc.state, 'Ready')
  const closing = s.close()
  const r = await call(side.url, 'GET', '/mounts')
  assert.is(r.status, 503)
  assert.is(r.body.code, 'SHUTDOWN')
  const p = await call(side.url, 'POST', '/mounts', { path: '/' })
  assert.is(p.status, 503)
  await closing
  side.server.close()
  assert.equal(mounter.unmounts, [desc.mount_id])
  assert.ok(existsSync(join(stateDir, 'antares.json')))
  assert.not.ok(existsSync(join(stateDir, 'antares.pid')))
})

test.after(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true })
})

test.run()
