// History benchmark (issue 15): a long-history repository served by git http-backend (server in its
// own process), Scorpio's single binary and Git side by side in one run, directly and through the
// latency proxy (RTT 20 ms, both sides through the same proxy):
//   a. `scorpio mount --background` until `ls` answers vs git clone --filter=blob:none --depth 1 --no-checkout (≤ 1.0×)
//   b. `scorpio checkout HEAD~200` on that mount vs `git checkout HEAD~200` in a blobless clone
//      at HEAD (≤ 1.0×; the clone's own time is reported beside)
//   c. `scorpio log -n 100` vs `git log -n 100` in that clone, after the first of each (≤ 1.0×)
//   e. `scorpio blame PATH` vs `git blame --first-parent PATH` in that clone (it fetches each missing
//      version of the file on its own), the first and a second time, and how many lines both give to
//      the same commit
//   d. peak RSS (VmHWM) of the mount process through the whole run (≤ 250 MB)
// Repositories: the real one, bench-data/babel.git (18,609 commits, 27,674 files), and a synthetic
// one made by scripts/gen_monorepo.mjs (bench-data/hist20k.git: 20,000 files, 400 commits).
// Run alone: node --import tsx scripts/bench/history_bench.ts [--only babel|synthetic] [--rtt-only]
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { execFile } from 'node:child_process'
import { BINARY, ensureBuilt } from '../_build.ts'
import { startLatencyProxy } from './latency_proxy.ts'
import { startServer } from './_server.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const args = process.argv.slice(2)
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined

interface Ran { s: number; stdout: string; stderr: string }

function sh(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  return new Promise((res, rej) => {
    const t0 = performance.now()
    const p = spawn(cmd, argv, { cwd: opts.cwd ?? root, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    p.stdout.on('data', (d) => (stdout += d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', rej)
    p.on('close', (code) => {
      if (code !== 0) rej(new Error(`${cmd} ${argv.join(' ')} failed (${code}): ${stderr.slice(-1500)}`))
      else res({ s: (performance.now() - t0) / 1000, stdout, stderr })
    })
  })
}


function vmHwmMb(pid: number): number {
  const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) / 1024 : NaN
}

async function treesLoaded(cache: string): Promise<void> {
  for (let waited = 0; waited < 300_000; waited += 50) {
    for (const d of readdirSync(join(cache, 'objects'), { withFileTypes: true })) {
      const loaded = join(cache, 'objects', d.name, 'loaded')
      if (d.isDirectory() && existsSync(loaded) && readdirSync(loaded).some((f) => !f.endsWith('.lock'))) return
    }
    await new Promise((r) => setTimeout(r, 50))
  }
  throw new Error(`the trees never finished loading into ${cache}`)
}

/** The file most often changed by the last 2,000 first-parent commits (lock files and changelogs aside). */
async function blamePath(clone: string): Promise<string> {
  const names = (await sh('git', ['-C', clone, 'log', '--first-parent', '--name-only', '--format=', '-n', '2000', 'HEAD'])).stdout.split('\n')
  const count = new Map<string, number>()
  for (const f of names) if (f && !/lock|changelog/i.test(f)) count.set(f, (count.get(f) ?? 0) + 1)
  const present = new Set((await sh('git', ['-C', clone, 'ls-files'])).stdout.split('\n'))
  return [...count].filter(([f]) => present.has(f)).sort((x, y) => y[1] - x[1])[0][0]
}

const BLAME_LIMIT_S = 120

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

interface Row { repo: string; net: string; name: string; ours: number; git: number | null; unit: string; target: string; ok: boolean; note: string }

async function ensureSynthetic(): Promise<string> {
  const path = join(root, 'bench-data', 'hist20k.git')
  if (!existsSync(join(path, 'HEAD'))) {
    rmSync(path, { recursive: true, force: true })
    await promisify(execFile)(process.execPath, [join(root, 'scripts', 'gen_monorepo.mjs'), path, '--files', '20000', '--commits', '400', '--touch', '8', '--merge-every', '50'], { maxBuffer: 1 << 24 })
  }
  return path
}

async function benchRepo(repoPath: string, label: string, rtt: number, log: (s: string) => void): Promise<Row[]> {
  const work = join(realpathSync(join(root, 'bench-data')), `history-bench-${basename(root)}`, `${label}-${rtt}`)
  rmSync(work, { recursive: true, force: true })
  const mp = join(work, 'mnt')
  mkdirSync(mp, { recursive: true })
  const server = await startServer(dirname(realpathSync(repoPath)))
  const proxy = rtt ? await startLatencyProxy({ port: Number(new URL(server.base).port), delayMs: rtt / 2 }) : null
  const url = (proxy ? proxy.rewrite(server.base) : server.base).replace(/\/+$/, '') + '/' + basename(repoPath)
  const net = rtt ? `RTT ${rtt} ms` : 'direct'
  const env = { ...process.env, XDG_STATE_HOME: join(work, 'xdg-state'), XDG_RUNTIME_DIR: join(work, 'xdg-run'), NO_COLOR: '1' }
  const scorpio = (argv: string[], cwd?: string) => sh(BINARY, argv, { env, cwd })
  const rows: Row[] = []
  const row = (name: string, ours: number, git: number | null, unit: string, target: number, note = '') => {
    const ratio = git ? ours / git : ours
    const r: Row = { repo: label, net, name, ours: +ours.toFixed(3), git: git === null ? null : +git.toFixed(3), unit, target: git === null ? `≤ ${target} ${unit}` : `≤ ${target}×`, ok: ratio <= target, note }
    rows.push(r)
    log(`${label} ${net} ${name}: ours ${r.ours} ${unit}${git !== null ? ` vs git ${r.git} ${unit} → ${(ours / git).toFixed(2)}×` : ''} ${r.ok ? 'ok' : 'MISSED'} ${note}`)
  }
  let mounted = false
  let pid = 0
  let peak = 0
  const sampler = setInterval(() => {
    if (pid) peak = Math.max(peak, vmHwmMb(pid) || 0)
  }, 100)
  try {
    // a. Mount until ls vs the depth-1 blobless clone (interleaved; the best of two each).
    let gitA = Infinity
    let oursA = Infinity
    for (let i = 0; i < 2; i++) {
      gitA = Math.min(gitA, (await sh('git', ['clone', '-q', '--filter=blob:none', '--depth', '1', '--no-checkout', url, join(work, `depth1-${i}`)])).s)
      const last = i === 1
      if (!last) {
        const t0 = performance.now()
        await scorpio(['mount', url, mp, '--background', '--cache', join(work, `cache-${i}`), '--state', join(work, `state-${i}`)])
        await sh('ls', [mp])
        oursA = Math.min(oursA, (performance.now() - t0) / 1000)
        await scorpio(['umount', mp])
        continue
      }
      const t0 = performance.now()
      await scorpio(['mount', url, mp, '--background', '--cache', join(work, 'cache'), '--state', join(work, 'state')])
      mounted = true
      await sh('ls', [mp])
      oursA = Math.min(oursA, (performance.now() - t0) / 1000)
    }
    const list = JSON.parse((await scorpio(['list', '--json'])).stdout) as { mountpoint: string; pid: number }[] | { mounts: { mountpoint: string; pid: number }[] }
    pid = (Array.isArray(list) ? list : list.mounts).find((m) => resolve(m.mountpoint) === resolve(mp))?.pid ?? 0
    row('mount until ls', oursA, gitA, 's', 1.0, 'git: clone --filter=blob:none --depth 1 --no-checkout')

    // The git side of b and c: a blobless clone of the whole history at HEAD (its files fetched).
    // Made directly, then pointed at the proxy: a full-history clone through latency_proxy.ts broke
    // mid-pack ("bad line length character", 2026-12-04); the timed checkout goes through it.
    const clone = join(work, 'blobless')
    const direct = server.base.replace(/\/+$/, '') + '/' + basename(repoPath)
    const cloneS = (await sh('git', ['clone', '-q', '--filter=blob:none', '--no-checkout', direct, clone])).s
    const coHead = (await sh('git', ['-C', clone, 'checkout', '-q', 'HEAD'])).s
    await sh('git', ['-C', clone, 'remote', 'set-url', 'origin', url])
    await treesLoaded(join(work, 'cache'))
    await sh('find', [mp, '-maxdepth', '2'])
    const gitB = (await sh('git', ['-C', clone, 'checkout', '-q', 'HEAD~200'])).s
    const oursB = (await scorpio(['checkout', 'HEAD~200', '-C', mp])).s
    const want = (await sh('git', ['-C', clone, 'rev-parse', 'HEAD'])).stdout.trim()
    const got = JSON.parse((await scorpio(['log', '-n', '1', '--json', '-C', mp])).stdout)[0].commit
    if (got !== want) throw new Error(`scorpio checked out ${got}, git ${want}`)
    await sh('find', [mp, '-maxdepth', '2'])
    row('checkout HEAD~200', oursB, gitB, 's', 1.0, `git: checkout in a blobless clone (the clone: ${cloneS.toFixed(1)} s, its checkout of HEAD ${coHead.toFixed(1)} s, both direct)`)

    // c. log -n 100, the first of each, then the median of five (interleaved).
    const firstOurs = (await scorpio(['log', '-n', '100', '-C', mp])).s
    const firstGit = (await sh('git', ['-C', clone, 'log', '-n', '100'])).s
    const o: number[] = []
    const g: number[] = []
    for (let i = 0; i < 5; i++) {
      g.push((await sh('git', ['-C', clone, 'log', '-n', '100'])).s)
      o.push((await scorpio(['log', '-n', '100', '-C', mp])).s)
    }
    row('log -n 100 (after the first)', median(o), median(g), 's', 1.0, `first: ours ${firstOurs.toFixed(3)} s, git ${firstGit.toFixed(3)} s`)
    // e. blame of the file with the longest first-parent history among a few, on HEAD~200 (both sides).
    const blamed = await blamePath(clone)
    // git fetches each version of the file its blame reaches on its own (one fetch per blob): on
    // babel that ran for more than 12 minutes, so its first blame is given BLAME_LIMIT_S.
    const blameGit = async () => sh('timeout', [String(BLAME_LIMIT_S), 'git', '-C', clone, 'blame', '--first-parent', '--line-porcelain', blamed]).catch(() => null)
    const blameOurs = async () => scorpio(['blame', '--json', blamed, '-C', mp])
    const oursE1 = await blameOurs()
    const gitE1 = await blameGit()
    const oursE2 = await blameOurs()
    const ours = (JSON.parse(oursE1.stdout) as { lines: { commit: string }[] }).lines.map((l) => l.commit)
    const changes = (await sh('git', ['-C', clone, 'rev-list', '--first-parent', '--count', 'HEAD', '--', blamed])).stdout.trim()
    let what = `${blamed}: ${ours.length} lines, ${changes} first-parent commits changed it`
    if (gitE1) {
      const owners = [...gitE1.stdout.matchAll(/^([0-9a-f]{40}) \d+ \d+/gm)].map((m) => m[1])
      what += `; ${ours.filter((c, i) => c === owners[i]).length} of ${owners.length} lines given to the same commit as git`
      row('blame PATH, first', oursE1.s, gitE1.s, 's', 1.0, what)
      const gitE2 = await blameGit()
      row('blame PATH, again', oursE2.s, gitE2?.s ?? null, 's', 1.0, '')
    } else {
      row('blame PATH, first', oursE1.s, BLAME_LIMIT_S, 's', 1.0, `${what}; git blame did not finish within ${BLAME_LIMIT_S} s (ratio against that bound)`)
      row('blame PATH, again', oursE2.s, null, 's', 60, 'git: not measured (its first blame did not finish)')
    }
    if (pid) peak = Math.max(peak, vmHwmMb(pid))
    row('peak mount RSS through the run', peak, null, 'MB', 250, pid ? 'VmHWM of the mount process' : 'mount pid not found')
  } finally {
    clearInterval(sampler)
    if (mounted) await scorpio(['umount', mp]).catch(() => sh('umount', ['-l', mp]).catch(() => {}))
    await proxy?.close()
    await server.close()
    rmSync(work, { recursive: true, force: true })
  }
  return rows
}

const log = (s: string) => console.error(s)
ensureBuilt(log)
const repos: [string, string][] = []
if (!only || only === 'babel') repos.push([join(root, 'bench-data', 'babel.git'), 'babel'])
if (!only || only === 'synthetic') repos.push([await ensureSynthetic(), 'synthetic 20k'])
const rows: Row[] = []
for (const rtt of args.includes('--rtt-only') ? [20] : [0, 20]) for (const [path, label] of repos) rows.push(...(await benchRepo(path, label, rtt, log)))
rmSync(join(realpathSync(join(root, 'bench-data')), `history-bench-${basename(root)}`), { recursive: true, force: true })
console.log('| repo | network | row | scorpio (binary) | git | ratio | target | |')
console.log('|---|---|---|---|---|---|---|---|')
for (const r of rows) {
  console.log(`| ${r.repo} | ${r.net} | ${r.name} | ${r.ours} ${r.unit} | ${r.git ?? '—'}${r.git !== null ? ' ' + r.unit : ''} | ${r.git ? (r.ours / r.git).toFixed(2) + '×' : '—'} | ${r.target} | ${r.ok ? 'ok' : 'MISSED'} ${r.note} |`)
}
