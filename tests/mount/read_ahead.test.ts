// Cold reads through a real mount and git http-backend: a walk of a cold subtree costs a handful
// of content requests (read-ahead), 64 processes reading 64 cold files at once are served by a few
// batched requests, and a read-ahead the server refuses never fails the read that triggered it.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { promises as fsp, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { makeBareRepo, type RepoFile, type TestRepo } from '../helpers/repos.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { mountForeground, requireFuse, sandbox, scorpio, type Sandbox } from './_cli.ts'

let sb: Sandbox
let repo: TestRepo
let server: GitServer
const contents = new Map<string, string>()
const A = 4
const B = 6
const F = 25

test.before(async () => {
  requireFuse()
  sb = sandbox()
  const files: RepoFile[] = []
  for (const top of ['pkg', 'other']) {
    for (let a = 0; a < A; a++) {
      for (let b = 0; b < B; b++) {
        for (let f = 0; f < F; f++) {
          const path = `${top}/a${a}/b${b}/f${f}.txt`
          const content = `${path}\n`.repeat(20 + ((a * 31 + b * 7 + f) % 60)) + (f % 7 === 3 ? 'needle\n' : '')
          files.push({ path, content })
          contents.set(path, content)
        }
      }
    }
  }
  // 64 directories of 3 files: one reader per directory.
  for (let d = 0; d < 64; d++) {
    for (let f = 0; f < 3; f++) {
      const path = `many/d${d}/f${f}.txt`
      const content = `${path}\n`.repeat(30 + ((d + f * 17) % 40))
      files.push({ path, content })
      contents.set(path, content)
    }
  }
  repo = await makeBareRepo({ files })
  server = await startGitServer(join(repo.path, '..'))
})
test.after(async () => {
  await server?.close().catch(() => {})
  repo?.cleanup()
  sb?.cleanup()
})

/** Content requests (`command=fetch` of blobs) since the last reset. */
const fetches = (): number => server.log.filter((r) => r.body.includes('command=fetch')).length

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    c.stdout.on('data', (d) => (out += d))
    c.on('close', (code) => resolve({ code, out }))
  })
}

async function mounted(name: string, fn: (mp: string, log: () => string) => Promise<void>, extra: string[] = []): Promise<void> {
  const mp = sb.dir(`ws-${name}`)
  const env = { ...sb.env, XDG_CACHE_HOME: join(sb.root, `cache-${name}`) }
  const m = await mountForeground([server.url('repo.git'), mp, ...extra], { env })
  try {
    await fn(mp, m.stderr)
  } finally {
    await m.stop()
  }
}

test('grep -r of a cold subtree: few content requests, right answer, nothing outside it fetched', async () => {
  await mounted('walk', async (mp, log) => {
    // The trees are in once a deep path resolves.
    await fsp.stat(join(mp, `pkg/a${A - 1}/b${B - 1}/f0.txt`))
    server.reset()
    const r = await run('grep', ['-rl', 'needle', 'pkg'], mp)
    assert.is(r.code, 0)
    const want = [...contents].filter(([p, c]) => p.startsWith('pkg/') && c.includes('needle')).map(([p]) => p).sort()
    assert.equal(r.out.trim().split('\n').sort(), want)
    const files = A * B * F
    const dirs = 1 + A + A * B
    const bound = Math.floor(files / 50 + dirs / 50 + 10)
    assert.ok(fetches() <= bound, `${fetches()} content requests for ${files} files, ${dirs} directories (target <= ${bound})`)
    // One --debug line per decision, naming the subtree; none reached outside pkg/.
    const lines = log().split('\n').filter((l) => l.includes('read-ahead: trigger='))
    assert.ok(lines.some((l) => /trigger=walk-subtree subtree=\/pkg/.test(l)), lines.join('\n'))
    assert.not.ok(lines.some((l) => /subtree=\/(other|\s)/.test(l) || / subtree=\/ /.test(l)), lines.join('\n'))
  }, ['--debug'])
})

test('64 processes reading 64 cold files at once: a few batched requests', async () => {
  await mounted('many', async (mp) => {
    const chosen = Array.from({ length: 64 }, (_, d) => `many/d${d}/f1.txt`)
    for (const p of chosen) await fsp.stat(join(mp, p)) // sizes and lookups first: only contents are cold
    server.reset()
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    server.intercept = (req) => (req.body.includes('command=fetch') ? { after: gate } : undefined)
    const readers = chosen.map((p) => {
      const c = spawn('cat', [p], { cwd: mp, stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      c.stdout.on('data', (d) => (out += d))
      return { pid: c.pid!, done: new Promise<string>((resolve) => c.on('close', (code) => resolve(code === 0 ? out : `exit ${code}`))) }
    })
    try {
      // Every reader waits on the mount (its read is there) before the server answers anything.
      const wchan = (pid: number) => {
        try {
          return readFileSync(`/proc/${pid}/wchan`, 'utf8')
        } catch {
          return 'gone'
        }
      }
      // A read waits for its FUSE request, or for the page the kernel's readahead request (sent
      // in the background: the mount allows 64 of those at once) will fill.
      const waiting = (pid: number) => /^(request_wait_answer|folio_wait_bit_common)$/.test(wchan(pid))
      for (let i = 0; i < 3000 && !readers.every((r) => waiting(r.pid)); i++) await new Promise((r) => setTimeout(r, 10))
      assert.ok(readers.every((r) => waiting(r.pid)), `all 64 readers wait on the mount: ${[...new Set(readers.map((r) => wchan(r.pid)))]}`)
    } finally {
      release()
      server.intercept = null
    }
    const outs = await Promise.all(readers.map((r) => r.done))
    chosen.forEach((p, i) => assert.ok(outs[i] === contents.get(p), `${p}: ${outs[i].slice(0, 200)}`))
    // Six slots for readers' requests; the other readers' ids coalesce into one request when the
    // first ends, and the read-ahead ids still waiting then (a sibling each) into one more.
    assert.ok(fetches() <= 8, `${fetches()} content requests`)
  })
})

test('a read-ahead the server refuses never fails the read that triggered it', async () => {
  await mounted('refused', async (mp) => {
    const p = 'other/a1/b2/f14.txt' // its next sibling is smaller: a first cold read brings it along
    await fsp.stat(join(mp, p))
    server.reset()
    // Any content request for more than one object fails: the read-ahead's ids ride with the read.
    server.intercept = (req) => (req.body.includes('command=fetch') && (req.body.toString().match(/want /g) ?? []).length > 1 ? { status: 500 } : undefined)
    try {
      assert.is(await fsp.readFile(join(mp, p), 'utf8'), contents.get(p))
    } finally {
      server.intercept = null
    }
    const wants = server.log.filter((r) => r.body.includes('command=fetch')).map((r) => (r.body.toString().match(/want /g) ?? []).length)
    assert.ok(wants.length >= 2 && wants[0] > 1 && wants[wants.length - 1] === 1, `requests: ${wants}`)
  })
})

test('mount --profile FILE fetches the listed files in the background; a missing file is a one-line error', async () => {
  const listed = ['other/a0/b0/f3.txt', 'other/a2/b5/f24.txt', 'many/d7/f2.txt']
  const profile = join(sb.root, 'job.profile')
  await fsp.writeFile(profile, listed.join('\n') + '\n')
  await mounted('profile', async (mp, log) => {
    // The mount says when the profile's fetch is done.
    for (let i = 0; i < 3000 && !log().includes('profile prefetch:'); i++) await new Promise((r) => setTimeout(r, 20))
    assert.match(log(), /scorpio: profile prefetch: 3 of 3 files fetched/)
    server.reset()
    for (const p of listed) assert.is(await fsp.readFile(join(mp, p), 'utf8'), contents.get(p))
    assert.is(fetches(), 0, 'the job reads them locally')
  }, ['--profile', profile])
  const r = await scorpio(['mount', server.url('repo.git'), sb.dir('ws-noprofile'), '--profile', join(sb.root, 'nope.profile')], { env: sb.env })
  assert.is(r.status, 2)
  assert.match(r.stderr, /^scorpio: Cannot read profile ".*nope.profile": .*; give a file written by scorpio prefetch --record\n$/)
})

test.run()
