// Many mounts, one cache (issue 16), on the 100,000-file repo served by git http-backend (bytes
// counted where the server writes them):
//   a. two mount processes over one cache: bytes from the server while the second reads the 300
//      files the first read (≤ 1 KB; sizes and contents both come from the cache)
//   b. one mount process alone, cold cache: start + read 2,000 files (time, bytes from the server);
//      one more over that cache, warm (its CPU: the floor of a mount another process fetches for);
//      then 8 mount processes started at the same moment on one cold cache, each reading the same
//      2,000 files: bytes from the server ÷ one alone (≤ 1.1×), the 8th job's reads done ÷ one
//      alone (≤ 1.5×), both from the start of the mounts
// Each row with the single binary (dist/scorpio, targets apply) and the Node CLI beside it.
// 32 antares jobs: antares_bench.ts --jobs 32 --procs 0.
// Run alone: node --import tsx scripts/bench/shared_bench.ts [--files N] [--procs N] [--reads N] [--rtt MS] [--runtime binary|node] [--logs DIR] [--cpu-prof DIR]
// Each run prints the server's bytes by request kind and the CPU of the mounts, the readers and the rest.
import { spawn, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { startGitServer, type GitServer } from '../../tests/helpers/git_server.ts'
import { startLatencyProxy } from './latency_proxy.ts'
import { breakdown } from './_breakdown.ts'
import { cpuTicks, threadCpu, TICKS_PER_SECOND } from './_proc.ts'
import { BINARY, NODE_CLI, ensureBuilt } from '../_build.ts'
import { ensureBenchRepo } from './_repo.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')

interface Row { name: string; value: number; unit: string; target?: number; ok?: boolean; note?: string }

function run(cmd: string[], args: string[], env: NodeJS.ProcessEnv): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(cmd[0], [...cmd.slice(1), ...args], { env, cwd: root, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('close', (status) => done({ status, stdout, stderr }))
  })
}

// A CI job's reads come from its own process; `stat` first, as `ls -l` or a build would.
const READER = `
const { readFile, stat } = require('node:fs/promises')
const { readFileSync } = require('node:fs')
const [mp, list, width] = process.argv.slice(1)
const files = readFileSync(list, 'utf8').split('\\n').filter(Boolean)
let next = 0, total = 0
Promise.all(Array.from({ length: Number(width) }, async () => {
  while (next < files.length) { const f = mp + '/' + files[next++]; await stat(f); total += (await readFile(f)).length }
})).then(() => { const u = process.cpuUsage(); console.log(total + ' ' + (u.user + u.system) / 1e6) }, (e) => { console.error(e.message); process.exit(1) })
`

/** CPU seconds the readers spent (their own, to tell them apart from the mounts and the server). */
let readerCpu = 0

async function readAll(mountpoint: string, listFile: string, width = 8): Promise<number> {
  const r = await run([process.execPath], ['-e', READER, mountpoint, listFile, String(width)], { ...process.env, UV_THREADPOOL_SIZE: String(Math.max(4, width)) })
  if (r.status !== 0) throw new Error(`reading ${mountpoint} failed: ${r.stderr}`)
  const [bytes, cpu] = r.stdout.trim().split(' ').map(Number)
  readerCpu += cpu
  return bytes
}

/** CPU seconds of a process (or of its children it has waited for). */
const cpuOf = (pid: number | 'self', children = false) => cpuTicks(pid, { children }) / TICKS_PER_SECOND

/** The pids of the mount processes serving `mps` (from the registry). */
function mountPids(env: NodeJS.ProcessEnv, mps: string[]): number[] {
  const dir = join(env.XDG_STATE_HOME!, 'scorpio', 'mounts')
  const out: number[] = []
  for (const name of readdirSync(dir)) {
    if (!name.endsWith('.json')) continue
    const rec = JSON.parse(readFileSync(join(dir, name), 'utf8')) as { mountpoint: string; pid: number }
    if (mps.includes(rec.mountpoint)) out.push(rec.pid)
  }
  return out
}

/** CPU seconds of each mount process serving `mps`, read before they end. */
function mountCpu(env: NodeJS.ProcessEnv, mps: string[]): number[] {
  return mountPids(env, mps).map((pid) => cpuOf(pid))
}

/** The CPU of `pid` by kind of thread, as `name s, ...`. */
const threadsOf = (pid: number) => threadCpu(pid).filter(([, s]) => s >= 0.05).map(([n, s]) => `${n} ${s.toFixed(1)}`).join(', ')

/** Where the CPU went during a run: the mounts, the readers, the rest (git http-backend and the CLI). */
class CpuWatch {
  private reader0 = readerCpu
  private children0 = cpuOf('self', true)
  report(mounts: number[]): string {
    const readers = readerCpu - this.reader0
    const rest = cpuOf('self', true) - this.children0 - readers
    const m = mounts.reduce((a, b) => a + b, 0)
    return `    CPU: mounts ${m.toFixed(1)} s (${mounts.map((x) => x.toFixed(1)).join(' ')}), readers ${readers.toFixed(1)} s, server and CLI ${rest.toFixed(1)} s`
  }
}

/** The git server counts a reply's bytes when the CGI exits: wait until the counters stop moving. */
async function settle(server: GitServer): Promise<void> {
  let last = -1
  while (last !== server.bytesSent + server.requests) {
    last = server.bytesSent + server.requests
    await new Promise((r) => setTimeout(r, 300))
  }
}

function pickFiles(repo: string, n: number): string[] {
  const rows = spawnSync('git', ['--git-dir', repo, 'ls-tree', '-r', '-l', 'HEAD'], { maxBuffer: 1 << 30, encoding: 'utf8' }).stdout.split('\n')
  const files = rows
    .map((l) => l.match(/^(100644|100755) blob [0-9a-f]{40}\s+(\d+)\t(.*)$/))
    .filter((m): m is RegExpMatchArray => m !== null && Number(m[2]) < 512 * 1024)
    .map((m) => m[3])
  const step = Math.max(1, Math.floor(files.length / n))
  const out: string[] = []
  for (let i = 0; i < files.length && out.length < n; i += step) out.push(files[i])
  return out
}

/**
 * `rtt`: the mounts talk to the server through the latency proxy (RTT in ms, half each way);
 * `logs`: keep the mounts' logs (with trace lines) there; `cpuProf`: the processes (the binary's
 * too) write CPU profiles there (`node scripts/bench/profile_top.mjs FILE` reads one).
 */
export async function runSharedBench(options: { files?: number; procs?: number; reads?: number; runtime?: 'binary' | 'node'; rtt?: number; logs?: string; cpuProf?: string; log?: (s: string) => void } = {}): Promise<Row[]> {
  const log = options.log ?? ((s: string) => console.error(s))
  ensureBuilt(log)
  const nProcs = options.procs ?? 8
  const repo = await ensureBenchRepo(options.files ?? 100000)
  const files = pickFiles(repo, options.reads ?? 2000)
  const scratch = mkdtempSync(join(tmpdir(), 'scorpio-shared-bench-'))
  const list = join(scratch, 'files.txt')
  writeFileSync(list, files.join('\n') + '\n')
  const list300 = join(scratch, 'files300.txt')
  writeFileSync(list300, files.filter((_, i) => i % Math.floor(files.length / 300) === 0).slice(0, 300).join('\n') + '\n')
  const server = await startGitServer(dirname(repo))
  // A client that gives up a request (its timeout, on a loaded machine) must not end the server.
  const onAbort = (e: unknown) => log(`git server: a request was aborted (${(e as Error).message})`)
  process.on('unhandledRejection', onAbort)
  const direct = server.url(repo.split('/').pop()!)
  const proxy = options.rtt ? await startLatencyProxy({ port: Number(new URL(direct).port), delayMs: options.rtt / 2 }) : undefined
  const url = proxy ? proxy.rewrite(direct) : direct
  const rows: Row[] = []
  const row = (r: Row) => {
    rows.push(r)
    log(formatRows([r]))
  }
  let n = 0
  const fresh = (): NodeJS.ProcessEnv => {
    // With --logs DIR the mounts' logs (mount.log, SCORPIO_TRACE lines) are kept there.
    const d = join(options.logs ?? scratch, `run-${n++}`)
    // The binary (Bun) writes its profiles when told through BUN_OPTIONS; Node takes --cpu-prof.
    const bunProf = options.cpuProf ? { BUN_OPTIONS: `--cpu-prof --cpu-prof-dir=${options.cpuProf}` } : {}
    return { ...process.env, ...(options.logs ? { SCORPIO_TRACE: '1' } : {}), ...bunProf, NO_COLOR: '1', XDG_STATE_HOME: join(d, 'state'), XDG_CACHE_HOME: join(d, 'cache') }
  }
  const mountAt = async (cmd: string[], env: NodeJS.ProcessEnv): Promise<string> => {
    const mp = join(scratch, `mnt-${n++}`)
    mkdirSync(mp)
    const r = await run(cmd, ['mount', url, mp, '--background'], env)
    if (r.status !== 0) throw new Error(`scorpio mount failed: ${r.stderr}`)
    return mp
  }
  const umountAll = async (cmd: string[], env: NodeJS.ProcessEnv, mps: string[]) => {
    await Promise.all(mps.map((mp) => run(cmd, ['umount', mp], env)))
  }
  try {
    const runtimes = ([['binary', [BINARY]], ['node', [process.execPath, ...(options.cpuProf ? ['--cpu-prof', `--cpu-prof-dir=${options.cpuProf}`] : []), NODE_CLI]]] as const).filter(([l]) => !options.runtime || options.runtime === l)
    for (const [runtime, cmd] of runtimes) {
      const label = options.rtt ? `${runtime}, RTT ${options.rtt} ms` : runtime
      // a. The second process reads what the first read.
      let env = fresh()
      const first = await mountAt([...cmd], env)
      const second = await mountAt([...cmd], env)
      try {
        await readAll(first, list300)
        await settle(server)
        server.reset()
        await readAll(second, list300)
        await settle(server)
        row({ name: `[${label}] second mount process reads the 300 files the first read: bytes from the server`, value: server.bytesSent, unit: 'B', target: 1024, ok: server.bytesSent <= 1024, note: `${server.requests} requests` })
      } finally {
        await umountAll([...cmd], env, [first, second])
      }

      // b. One alone, then nProcs at once, each on a cold cache.
      env = fresh()
      server.reset()
      let cpu = new CpuWatch()
      let t0 = performance.now()
      const solo = await mountAt([...cmd], env)
      let oneSeconds: number
      let mountsCpu: number[] = []
      try {
        await readAll(solo, list)
        oneSeconds = (performance.now() - t0) / 1000
        mountsCpu = mountCpu(env, [solo])
      } finally {
        await umountAll([...cmd], env, [solo])
      }
      await settle(server)
      const oneBytes = server.bytesSent
      log(`[${label}] one mount process: start + ${files.length} files in ${oneSeconds.toFixed(2)} s, ${(oneBytes / 1e6).toFixed(2)} MB from the server\n${breakdown(server)}\n${cpu.report(mountsCpu)}`)
      // The floor of a mount that another process fetched for: one over the cache now warm.
      t0 = performance.now()
      const warm = await mountAt([...cmd], env)
      try {
        await readAll(warm, list)
        const [pid] = mountPids(env, [warm])
        log(`[${label}] one mount process over that cache, warm: start + ${files.length} files in ${((performance.now() - t0) / 1000).toFixed(2)} s, CPU ${cpuOf(pid).toFixed(1)} s (${threadsOf(pid)})`)
      } finally {
        await umountAll([...cmd], env, [warm])
      }

      env = fresh()
      server.reset()
      cpu = new CpuWatch()
      t0 = performance.now()
      const done: number[] = []
      const mps: string[] = []
      try {
        await Promise.all(
          Array.from({ length: nProcs }, async () => {
            const mp = await mountAt([...cmd], env)
            mps.push(mp)
            await readAll(mp, list)
            done.push((performance.now() - t0) / 1000)
          }),
        )
        mountsCpu = mountCpu(env, mps)
        // Where the broker's CPU and a follower's go (the broker uses the most; the follower is the median).
        const byCpu = mountPids(env, mps).sort((a, b) => cpuOf(b) - cpuOf(a))
        log(`    threads, most CPU (the broker): ${threadsOf(byCpu[0])}\n    threads, median: ${threadsOf(byCpu[byCpu.length >> 1])}`)
      } finally {
        await umountAll([...cmd], env, mps)
      }
      await settle(server)
      const manyBytes = server.bytesSent
      const last = Math.max(...done)
      log(`[${label}] ${nProcs} mount processes (reads done at ${done.map((x) => x.toFixed(1)).join(' ')} s):\n${breakdown(server)}\n${cpu.report(mountsCpu)}`)
      row({ name: `[${label}] ${nProcs} mount processes at once: bytes from the server ÷ one alone`, value: manyBytes / oneBytes, unit: '×', target: 1.1, ok: manyBytes <= 1.1 * oneBytes, note: `${(manyBytes / 1e6).toFixed(2)} MB vs ${(oneBytes / 1e6).toFixed(2)} MB` })
      row({ name: `[${label}] ${nProcs} mount processes at once: the ${nProcs}th's reads done ÷ one alone`, value: last / oneSeconds, unit: '×', target: 1.5, ok: last <= 1.5 * oneSeconds, note: `${last.toFixed(2)} s vs ${oneSeconds.toFixed(2)} s (start + ${files.length} files)` })
    }
  } finally {
    process.off('unhandledRejection', onAbort)
    await proxy?.close()
    await server.close()
    for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
      const mp = line.split(' ')[4]
      if (mp?.startsWith(scratch)) spawnSync('umount', ['-l', mp])
    }
    rmSync(scratch, { recursive: true, force: true })
  }
  return rows
}

export function formatRows(rows: Row[]): string {
  return rows
    .map((r) => `${r.name.padEnd(96)} ${r.value.toFixed(r.unit === 'B' ? 0 : 3).padStart(9)} ${r.unit}${r.target !== undefined ? `  (target ≤ ${r.target}: ${r.ok ? 'ok' : 'MISSED'})` : ''}${r.note ? `  ${r.note}` : ''}`)
    .join('\n')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2)
  const num = (name: string) => {
    const i = args.indexOf(`--${name}`)
    return i >= 0 ? Number(args[i + 1]) : undefined
  }
  const i = args.indexOf('--runtime')
  const runtime = i >= 0 ? (args[i + 1] as 'binary' | 'node') : undefined
  const l = args.indexOf('--logs')
  const p = args.indexOf('--cpu-prof')
  const rows = await runSharedBench({ files: num('files'), procs: num('procs'), reads: num('reads'), rtt: num('rtt'), runtime, logs: l >= 0 ? resolve(args[l + 1]) : undefined, cpuProf: p >= 0 ? resolve(args[p + 1]) : undefined })
  process.stdout.write(formatRows(rows) + '\n')
}
