// CI-isolation benchmark (issue 6) on the 100,000-file repo (bench-data/mono100k.git, generated
// with scripts/gen_monorepo.mjs when missing, reused), served by git http-backend:
//   1. one antares job reads 2,000 files (cold cache): the bytes one job needs
//   2. eight antares jobs (one server, cold cache) each read the same 2,000 files at once:
//      total bytes from the server ≤ 1.1× (1); server RSS; time to the eighth job's `ready`
//   3. the same eight jobs as separate `scorpio mount --background` processes sharing one cache:
//      total bytes and the summed RSS of the eight processes
//   4. start-up: `dist/scorpio --version` vs `node dist/scorpio.mjs --version`, and
//      `scorpio status --json` inside a mounted workspace, binary vs npm-installed CLI
// Run alone: node --import tsx scripts/bench/antares_bench.ts [--files N] [--jobs N] [--procs N] [--reads N] [--binary] [--json]
// (issue 16: --jobs 32 --procs 0 --binary, 32 jobs of one antares binary)
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { startGitServer, type GitServer } from '../../tests/helpers/git_server.ts'
import { breakdown } from './_breakdown.ts'
import { ensureBenchRepo } from './_repo.ts'
import { ensureBinary } from '../_build.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const BUNDLE = join(root, 'dist', 'scorpio.mjs')
const BINARY = join(root, 'dist', 'scorpio')

export interface AntaresBenchRow {
  name: string
  value: number
  unit: string
  /** Target, when the issue sets one (value ≤ target is ok). */
  target?: number
  ok?: boolean
  note?: string
}

export interface AntaresBenchOptions {
  files?: number
  jobs?: number
  /** Separate mount processes in part 3 (default: as many as jobs). */
  procs?: number
  /** Run antares and the mounts with dist/scorpio (default: node dist/scorpio.mjs). */
  binary?: boolean
  reads?: number
  log?: (line: string) => void
}

/** `n` regular files spread evenly over the tree, big binaries left out. */
function pickFiles(repo: string, n: number): string[] {
  const rows = execFileSync('git', ['--git-dir', repo, 'ls-tree', '-r', '-l', 'HEAD'], { maxBuffer: 1 << 30 }).toString().split('\n')
  const files = rows
    .map((l) => l.match(/^(100644|100755) blob [0-9a-f]{40}\s+(\d+)\t(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && Number(m[2]) < 512 * 1024)
    .map((m) => m[3])
  const step = Math.max(1, Math.floor(files.length / n))
  const out: string[] = []
  for (let i = 0; i < files.length && out.length < n; i += step) out.push(files[i])
  return out
}

function cli(): string[] {
  execFileSync(process.execPath, ['scripts/build.mjs'], { cwd: root, stdio: 'ignore' })
  return [process.execPath, BUNDLE]
}

function rssKb(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmHWM'): number {
  try {
    const m = readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'))
    return m ? Number(m[1]) : 0
  } catch {
    return 0
  }
}

async function settle(server: GitServer): Promise<void> {
  let last = -1
  while (last !== server.bytesSent + server.requests) {
    last = server.bytesSent + server.requests
    await new Promise((r) => setTimeout(r, 300))
  }
}

// Each job's reads come from its own process (as a CI job's would), so that this process (which
// also runs the git server) never has its thread pool tied up by reads waiting on a mount.
const READER = `
const { readFile } = require('node:fs/promises')
const { readFileSync } = require('node:fs')
const [mp, list, width] = process.argv.slice(1)
const files = readFileSync(list, 'utf8').split('\\n').filter(Boolean)
let next = 0, total = 0
Promise.all(Array.from({ length: Number(width) }, async () => {
  while (next < files.length) { const f = files[next++]; total += (await readFile(mp + '/' + f)).length }
})).then(() => console.log(total), (e) => { console.error(e.message); process.exit(1) })
`

/** Reads every listed file under `mountpoint`, `width` at a time, in a child process; returns the bytes read. */
async function readAll(mountpoint: string, listFile: string, width = 8): Promise<number> {
  const r = await run([process.execPath], ['-e', READER, mountpoint, listFile, String(width)], { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, width)) })
  if (r.status !== 0) throw new Error(`reading ${mountpoint} failed: ${r.stderr}`)
  return Number(r.stdout.trim())
}

function run(cmd: string[], args: string[], env: NodeJS.ProcessEnv, cwd = root): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd[0], [...cmd.slice(1), ...args], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (status) => done({ status, stdout, stderr }))
  })
}

interface Server {
  url: string
  child: ChildProcess
  stop(): Promise<void>
}

async function startAntares(cmd: string[], args: string[], env: NodeJS.ProcessEnv): Promise<Server> {
  const child = spawn(cmd[0], [...cmd.slice(1), 'antares', 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => { err += d; if (process.env.ANTARES_BENCH_SERVER_LOG) appendFileSync(process.env.ANTARES_BENCH_SERVER_LOG, d) })
  const exited = new Promise<void>((r) => child.on('exit', () => r()))
  for (;;) {
    const m = out.match(/^listening (\S+)\n/m)
    if (m) return { url: m[1], child, stop: async () => { child.kill('SIGTERM'); await exited } }
    if (child.exitCode !== null) throw new Error(`antares serve failed: ${err}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

async function post(url: string, body: unknown): Promise<{ mount_id: string; mountpoint: string }> {
  const res = await fetch(`${url}/mounts`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) })
  const doc = await res.json() as { mount_id: string; mountpoint: string; error?: string }
  if (res.status !== 200) throw new Error(`POST /mounts: ${doc.error}`)
  return doc
}

async function waitReady(url: string, id: string): Promise<void> {
  for (;;) {
    const doc = await (await fetch(`${url}/mounts/${id}/ready`)).json() as { ready: boolean; state: unknown }
    if (doc.ready) return
    if (typeof doc.state === 'object') throw new Error(`job ${id} failed: ${JSON.stringify(doc.state)}`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

/** Median wall time of `n` runs (spawned asynchronously: this process serves the git repo the
 *  mounts may need while the command runs). */
async function timeRuns(cmd: string[], args: string[], env: NodeJS.ProcessEnv, cwd: string, n: number): Promise<number> {
  const times: number[] = []
  for (let i = 0; i < n; i++) {
    const t0 = performance.now()
    const r = await run(cmd, args, env, cwd)
    times.push((performance.now() - t0) / 1000)
    if (r.status !== 0) throw new Error(`${cmd.join(' ')} ${args.join(' ')} failed: ${r.stderr}`)
  }
  return median(times)
}

export async function runAntaresBench(options: AntaresBenchOptions = {}): Promise<AntaresBenchRow[]> {
  const log = options.log ?? ((line: string) => console.error(line))
  const nFiles = options.files ?? 100000
  const nJobs = options.jobs ?? 8
  // 0 stops after the antares rows (e.g. `--jobs 32 --procs 0`: 32 mount processes would not fit 2 cores).
  const nProcs = options.procs ?? nJobs
  const nReads = options.reads ?? 2000
  const repo = await ensureBenchRepo(nFiles)
  const files = pickFiles(repo, nReads)
  const scratch = mkdtempSync(join(tmpdir(), 'scorpio-antares-bench-'))
  const list = join(scratch, 'files.txt')
  writeFileSync(list, files.join('\n') + '\n')
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', XDG_STATE_HOME: join(scratch, 'xdg-state'), XDG_CACHE_HOME: join(scratch, 'xdg-cache') }
  const server = await startGitServer(dirname(repo))
  const url = server.url(repo.split('/').pop()!)
  // The binary is built again when older than its sources (as shared_bench does): runs of this
  // bench on 2026-12-04 measured a binary of the commit before, and reported its bytes for the next.
  const cmd = options.binary ? (cli(), ensureBinary(), [BINARY]) : cli()
  const rows: AntaresBenchRow[] = []
  const push = rows.push.bind(rows)
  rows.push = (...r: AntaresBenchRow[]) => {
    for (const row of r) log(formatRows([row]))
    return push(...r)
  }
  const leftovers: Server[] = []
  // Interrupted (Ctrl-C, a timeout): stop the servers and detach the mounts before exiting.
  const onSignal = () => {
    for (const s of leftovers) s.child.kill('SIGTERM')
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4]
      if (mp?.startsWith(scratch)) spawnSync('umount', ['-l', mp])
    }
    rmSync(scratch, { recursive: true, force: true })
    process.exit(130)
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    // 1. One job alone, cold cache: what one job needs.
    server.reset()
    let s = await startAntares(cmd, [url, '--bind', '127.0.0.1:0', '--state', join(scratch, 'one-state'), '--cache', join(scratch, 'one-cache')], env)
    leftovers.push(s)
    const one = await post(s.url, { job_id: 'solo', path: '/' })
    await waitReady(s.url, one.mount_id)
    const tOne = performance.now()
    const read1 = await readAll(one.mountpoint, list)
    const oneSeconds = (performance.now() - tOne) / 1000
    await settle(server)
    const oneJob = server.bytesSent
    log(`one job: ${server.requests} requests\n${breakdown(server)}`)
    log(`one job: ${files.length} files (${(read1 / 1e6).toFixed(1)} MB read) in ${oneSeconds.toFixed(2)} s, ${(oneJob / 1e6).toFixed(1)} MB from the server`)
    rows.push({ name: `antares: one job reads ${files.length} files (cold)`, value: oneSeconds, unit: 's', note: `${(oneJob / 1e6).toFixed(1)} MB from the server` })
    await s.stop()
    leftovers.pop()

    // 2. Eight jobs of one server, cold cache, all reading at once.
    server.reset()
    const t0 = performance.now()
    s = await startAntares(cmd, [url, '--bind', '127.0.0.1:0', '--state', join(scratch, 'many-state'), '--cache', join(scratch, 'many-cache')], env)
    leftovers.push(s)
    const tListen = performance.now()
    const jobs = await Promise.all(Array.from({ length: nJobs }, (_, i) => post(s.url, { job_id: `job-${i}`, path: '/' })))
    await Promise.all(jobs.map((j) => waitReady(s.url, j.mount_id)))
    const tReady = performance.now()
    const tRead0 = performance.now()
    await Promise.all(jobs.map((j) => readAll(j.mountpoint, list)))
    const readSeconds = (performance.now() - tRead0) / 1000
    await settle(server)
    const manyBytes = server.bytesSent
    log(`${nJobs} jobs:\n${breakdown(server)}`)
    const serverRss = rssKb(s.child.pid!) / 1024
    await s.stop()
    leftovers.pop()
    rows.push(
      { name: `antares: ${nJobs} jobs, bytes from the server / one job's`, value: manyBytes / oneJob, unit: '×', target: 1.1, ok: manyBytes <= 1.1 * oneJob, note: `${(manyBytes / 1e6).toFixed(1)} MB vs ${(oneJob / 1e6).toFixed(1)} MB` },
      { name: `antares: server start (tree fetch) to listening`, value: (tListen - t0) / 1000, unit: 's' },
      { name: `antares: ${nJobs} concurrent POSTs to the ${nJobs}th job ready`, value: (tReady - tListen) / 1000, unit: 's' },
      { name: `antares: ${nJobs} jobs × ${files.length} files read`, value: readSeconds, unit: 's' },
      { name: `antares: server peak RSS (${nJobs} jobs)`, value: serverRss, unit: 'MB' },
    )

    if (nProcs === 0) return rows
    // 3. The same as separate mount processes sharing one cache.
    server.reset()
    const penv = { ...env, XDG_CACHE_HOME: join(scratch, 'procs-cache'), XDG_STATE_HOME: join(scratch, 'procs-state') }
    const mps = Array.from({ length: nProcs }, (_, i) => join(scratch, `mnt-${i}`))
    for (const mp of mps) mkdirSync(mp)
    const tp = performance.now()
    try {
      const started = await Promise.all(mps.map((mp, i) => run(cmd, ['mount', url, mp, '--background', '--upper', join(scratch, `upper-${i}`)], penv)))
      for (const r of started) if (r.status !== 0) throw new Error(`scorpio mount failed: ${r.stderr}`)
      const tpReady = performance.now()
      rows.push({ name: `${nProcs} mount processes: start to the ${nProcs}th ready`, value: (tpReady - tp) / 1000, unit: 's' })
      const readErr = await Promise.all(mps.map((mp) => readAll(mp, list))).then(() => undefined, (e: Error) => e.message.split('\n')[0])
      if (readErr) log(`${nProcs} mount processes: reads failed: ${readErr}`)
      await settle(server)
      const listed = JSON.parse((await run(cmd, ['list', '--json'], penv)).stdout) as { mounts: { mountpoint: string; pid: number }[] }
      const pids = listed.mounts.filter((m) => mps.includes(m.mountpoint)).map((m) => m.pid)
      const rss = pids.reduce((a, pid) => a + rssKb(pid), 0) / 1024
      rows.push(
        { name: `${nProcs} mount processes: bytes from the server / one job's`, value: server.bytesSent / oneJob, unit: '×', note: `${(server.bytesSent / 1e6).toFixed(1)} MB${readErr ? ' (reads failed, see log)' : ''}` },
        { name: `${nProcs} mount processes: summed peak RSS`, value: rss, unit: 'MB' },
      )

      // 4. Start-up and `status` latency: the single binary vs the npm-installed CLI (node + bundle).
      ensureBinary()
      const vBin = await timeRuns([BINARY], ['--version'], env, scratch, 10)
      const vNode = await timeRuns(cmd, ['--version'], env, scratch, 10)
      const sBin = await timeRuns([BINARY], ['status', '--json'], penv, mps[1], 5)
      const sNode = await timeRuns(cmd, ['status', '--json'], penv, mps[1], 5)
      // `status` in a mount of the benchmark repo (the --files one; 100k by default).
      rows.push(
        { name: 'start-up: dist/scorpio --version', value: vBin, unit: 's' },
        { name: 'start-up: node dist/scorpio.mjs --version', value: vNode, unit: 's' },
        { name: `status --json in a ${nFiles}-file mount: binary`, value: sBin, unit: 's' },
        { name: `status --json in a ${nFiles}-file mount: node`, value: sNode, unit: 's' },
      )
    } finally {
      await Promise.all(mps.map((mp) => run(cmd, ['umount', mp], penv)))
    }
  } finally {
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    for (const s of leftovers) await s.stop().catch(() => {})
    await server.close()
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4]
      if (mp?.startsWith(scratch)) spawnSync('umount', ['-l', mp])
    }
    rmSync(scratch, { recursive: true, force: true })
  }
  return rows
}

export function formatRows(rows: AntaresBenchRow[]): string {
  return rows
    .map((r) => `${r.name.padEnd(62)} ${r.value.toFixed(r.unit === 'MB' ? 0 : 3).padStart(9)} ${r.unit}${r.target !== undefined ? `  (target ≤ ${r.target}: ${r.ok ? 'ok' : 'MISSED'})` : ''}${r.note ? `  ${r.note}` : ''}`)
    .join('\n')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const num = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? Number(args[i + 1]) : undefined
  }
  const rows = await runAntaresBench({ files: num('files'), jobs: num('jobs'), procs: num('procs'), reads: num('reads'), binary: args.includes('--binary') })
  if (args.includes('--json')) process.stdout.write(JSON.stringify(rows) + '\n')
  else process.stdout.write(formatRows(rows) + '\n')
}
