// Cold reads over a real network (issue 13): a git http-backend server in its own process, reached
// through the latency proxy (RTT ~20 ms and ~100 ms), read through a real mount of the compiled
// binary dist/scorpio ([binary]; dist/scorpio.mjs on node as a reference row) against git's own way
// to get the same files through the same proxy. Fresh cache, state and clone for every run.
//   1. mount + cold `grep -r` of a ~362-file package of mono100k   vs blobless sparse clone + grep (≤ 1.0×)
//   2. babel: mount + cold `tar` of a ≥ 1,000-file package         vs mount + scorpio prefetch + tar (≤ 1.5×)
//   3. content and size requests for that cold walk                 vs files/50 + dirs/50 + 10
//   4. `ls -lR` of the cold package: requests (stat never waits on contents)
//   5. `cat` of one file in each of 20 random directories: bytes fetched ahead and never read (≤ 2× read)
//   6. warm `tar` of babel's largest package (~13,000 small files) once fetched: the mount beside a
//      native checkout of it and beside libfuse's C passthrough_ll over that checkout (no proxy)
// Reference rows: the same with read-ahead off (SCORPIO_READ_AHEAD=0), i.e. before issue 13.
// Run alone: node --import tsx scripts/bench/coldread_bench.ts [--rtt 20,100] [--rounds N] [--with-off] [--no-warm]
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { closestSubtree, ensureBenchRepo } from './_repo.ts'
import { ensureBuilt } from '../_build.ts'
import { buildPassthrough, waitMounted } from './fuse_bench.ts'
import { startLatencyProxy } from './latency_proxy.ts'
import { startServer } from './_server.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const args = process.argv.slice(2)
const value = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const RTTS = (value('--rtt') ?? '20,100').split(',').filter(Boolean).map(Number)
const ROUNDS = Number(value('--rounds') ?? 1)
const BIN = join(root, 'dist', 'scorpio')
const MJS = join(root, 'dist', 'scorpio.mjs')
const log = (s: string) => process.stderr.write(`coldread: ${s}\n`)

function sh(cmd: string, argv: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<string> {
  return new Promise((res, rej) => {
    const p = spawn(cmd, argv, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('close', (code) => (code === 0 ? res(out) : rej(new Error(`${cmd} ${argv.join(' ')}: exit ${code}: ${err.slice(-1500)}`))))
  })
}

interface Mounted { mp: string; child: ChildProcess; stderr: () => string; stop(): Promise<void> }

async function mount(url: string, work: string, runtime: 'binary' | 'node', env: NodeJS.ProcessEnv, extra: string[] = []): Promise<Mounted> {
  const mp = join(work, 'mnt')
  execFileSync('mkdir', ['-p', mp])
  const [cmd, pre] = runtime === 'binary' ? [BIN, []] : [process.execPath, [MJS]]
  const child = spawn(cmd, [...pre, 'mount', url, mp, '--cache', join(work, 'cache'), '--state', join(work, 'state'), ...extra], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exited = new Promise<void>((r) => child.on('exit', () => r()))
  while (!out.includes('ready')) {
    if (child.exitCode !== null) throw new Error(`mount exited: ${err}`)
    await new Promise((r) => setTimeout(r, 5))
  }
  return {
    mp,
    child,
    stderr: () => err,
    async stop() {
      child.kill('SIGTERM')
      await exited
    },
  }
}

function benchEnv(work: string, more: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, XDG_STATE_HOME: join(work, 'xdg-state'), XDG_CACHE_HOME: join(work, 'xdg-cache'), XDG_CONFIG_HOME: join(work, 'xdg-config'), ...more }
  for (const k of Object.keys(env)) if (k.startsWith('SCORPIO_') && !(k in more)) delete env[k]
  return env
}

function fresh(): string {
  return mkdtempSync(join(tmpdir(), 'scorpio-coldread-'))
}

const now = () => performance.now() / 1000

interface Row { rtt: number; name: string; ours: string; baseline: string; ratio: string; target: string; met: string }
const rows: Row[] = []
const push = rows.push.bind(rows)
// Each row also goes to stderr as it is measured (a long run can be read before it ends).
rows.push = (...rs: Row[]) => {
  for (const r of rs) log(`row | ${r.rtt} ms | ${r.name} | ${r.ours} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met} |`)
  return push(...rs)
}

/** Mount, run `cmd` in the mount, unmount; seconds from the mount command to the end of `cmd`, requests made. */
async function mountAndRun(url: string, runtime: 'binary' | 'node', cmd: (mp: string, env: NodeJS.ProcessEnv) => Promise<unknown>, server: { requests(): Promise<number> }, opts: { env?: Record<string, string>; extra?: string[] } = {}) {
  const work = fresh()
  try {
    const env = benchEnv(work, opts.env)
    const r0 = await server.requests()
    const t0 = now()
    const m = await mount(url, work, runtime, env, opts.extra)
    const tReady = now()
    const r1 = await server.requests()
    let t1 = 0
    let r2 = 0
    try {
      await cmd(m.mp, env)
      t1 = now()
      r2 = await server.requests()
    } finally {
      await m.stop()
    }
    return { s: t1 - t0, afterMount: t1 - tReady, requests: r2 - r1, mountRequests: r1 - r0, log: m.stderr() }
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

async function gitSparse(url: string, dir: string, cmd: (checkout: string) => Promise<unknown>) {
  const work = fresh()
  try {
    const t0 = now()
    const co = join(work, 'co')
    await sh('git', ['clone', '-q', '--filter=blob:none', '--depth', '1', '--sparse', url, co])
    await sh('git', ['-C', co, 'sparse-checkout', 'set', dir])
    await cmd(co)
    return now() - t0
  } finally {
    rmSync(work, { recursive: true, force: true })
  }
}

function lsFiles(repo: string): string[] {
  return execFileSync('git', ['-C', repo, 'ls-tree', '-r', '--name-only', 'HEAD'], { maxBuffer: 1 << 30 }).toString().split('\n').filter(Boolean)
}

function dirsUnder(paths: string[], dir: string): number {
  const d = new Set<string>([dir])
  for (const p of paths) if (p.startsWith(dir + '/')) { const parts = p.split('/'); for (let i = dir.split('/').length + 1; i < parts.length; i++) d.add(parts.slice(0, i).join('/')) }
  return d.size
}

const grepArgs = (dir: string) => ['-r', '-c', 'scorpio-no-such-word', dir]
const grep = (cwd: string, dir: string) => sh('grep', grepArgs(dir), { cwd }).catch((e) => { if (!/exit 1:/.test(String(e))) throw e })
const tar = (cwd: string, dir: string) => sh('sh', ['-c', `tar cf - '${dir}' | wc -c`], { cwd })
const best = (xs: number[]) => Math.min(...xs)
const f2 = (x: number) => x.toFixed(2)

async function warmTar(base: string, babel: string, babelFiles: string[]) {
  const counts = new Map<string, number>()
  for (const p of babelFiles) if (p.startsWith('packages/')) { const d = p.split('/').slice(0, 2).join('/'); counts.set(d, (counts.get(d) ?? 0) + 1) }
  const [dir, files] = [...counts].sort((a, b) => b[1] - a[1])[0]
  const work = fresh()
  const native = join(work, 'native')
  const pt = join(work, 'pt')
  execFileSync('mkdir', ['-p', native, pt])
  let ptChild: ChildProcess | undefined
  let m: Mounted | undefined
  try {
    await sh('sh', ['-c', `git --git-dir='${babel}' archive HEAD '${dir}' | tar -x -C '${native}'`])
    const bin = await buildPassthrough(work)
    ptChild = spawn(bin, ['-f', '-o', `source=${native},cache=always`, pt], { stdio: 'ignore' })
    await waitMounted(pt)
    const env = benchEnv(work)
    m = await mount(`${base}/babel.git`, work, 'binary', env)
    await sh(BIN, ['prefetch', dir], { cwd: m.mp, env })
    const t = { ours: [] as number[], pt: [] as number[], native: [] as number[] }
    for (let r = 0; r < 3; r++) {
      for (const [k, cwd] of [['native', native], ['pt', pt], ['ours', m.mp]] as const) {
        const t0 = now()
        await tar(cwd, dir)
        t[k].push(now() - t0)
      }
    }
    log(`warm tar of ${dir}: ours ${t.ours.map(f2).join(' ')} s, passthrough_ll ${t.pt.map(f2).join(' ')} s, native ${t.native.map(f2).join(' ')} s`)
    for (const [k, name] of [['pt', 'passthrough_ll (C)'], ['native', 'native checkout']] as const) {
      rows.push({ rtt: 0, name: `warm tar of ${dir} (${files} files), first / best of 3 [binary] vs ${name}`, ours: `${f2(t.ours[0])} / ${f2(best(t.ours))} s`, baseline: `${f2(t[k][0])} / ${f2(best(t[k]))} s`, ratio: `${f2(t.ours[0] / t[k][0])}× / ${f2(best(t.ours) / best(t[k]))}×`, target: 'report', met: '' })
    }
  } finally {
    await m?.stop()
    if (ptChild) {
      execFileSync('umount', ['-l', pt])
      ptChild.kill()
    }
    rmSync(work, { recursive: true, force: true })
  }
}

async function main() {
  // Built when older than the sources (a note alone let runs measure the commit before).
  ensureBuilt(log)
  const mono = await ensureBenchRepo(100000)
  const babel = join(root, 'bench-data', 'babel.git')
  const monoFiles = lsFiles(mono)
  const pkg = closestSubtree(monoFiles.filter((p) => p.split('/').length > 2), 362)
  const babelFiles = lsFiles(babel)
  const bpkg = closestSubtree(babelFiles.filter((p) => p.startsWith('packages/') && p.split('/').length > 3), 1300)
  const pkgDirs = dirsUnder(monoFiles, pkg.dir)
  log(`mono100k package ${pkg.dir} (${pkg.files} files, ${pkgDirs} dirs); babel package ${bpkg.dir} (${bpkg.files} files)`)
  const server = await startServer(join(root, 'bench-data'))
  try {
    for (const rtt of RTTS) {
      const proxy = await startLatencyProxy({ port: Number(new URL(server.base).port), delayMs: rtt / 2 })
      const url = (name: string) => proxy.rewrite(`${server.base}/${name}`)
      try {
        // 1. grep -r of the package: ours (binary, node, read-ahead off) and git, interleaved rounds.
        const t = { bin: [] as number[], node: [] as number[], off: [] as number[], git: [] as number[] }
        let walkRequests = 0
        for (let r = 0; r < ROUNDS; r++) {
          const g = await mountAndRun(url('mono100k.git'), 'binary', (mp) => grep(mp, pkg.dir), server)
          t.bin.push(g.s)
          walkRequests = g.requests
          if (rtt === RTTS[0]) t.node.push((await mountAndRun(url('mono100k.git'), 'node', (mp) => grep(mp, pkg.dir), server)).s)
          if (rtt === RTTS[0] && args.includes('--with-off')) t.off.push((await mountAndRun(url('mono100k.git'), 'binary', (mp) => grep(mp, pkg.dir), server, { env: { SCORPIO_READ_AHEAD: '0' } })).s)
          t.git.push(await gitSparse(url('mono100k.git'), pkg.dir, (co) => grep(co, pkg.dir)))
          log(`rtt ${rtt} grep round ${r + 1}: binary ${f2(g.s)} s (${g.requests} requests), git ${f2(t.git[t.git.length - 1])} s`)
        }
        const git = best(t.git)
        rows.push({ rtt, name: `mount + cold grep -r of ${pkg.dir} (${pkg.files} files) [binary]`, ours: `${f2(best(t.bin))} s`, baseline: `git sparse ${f2(git)} s`, ratio: `${f2(best(t.bin) / git)}×`, target: '≤ 1.0×', met: best(t.bin) / git <= 1 ? 'met' : 'not met' })
        if (t.node.length) rows.push({ rtt, name: '  same [node]', ours: `${f2(best(t.node))} s`, baseline: `git sparse ${f2(git)} s`, ratio: `${f2(best(t.node) / git)}×`, target: 'reference', met: '' })
        if (t.off.length) rows.push({ rtt, name: '  same [binary], read-ahead off (before)', ours: `${f2(best(t.off))} s`, baseline: `git sparse ${f2(git)} s`, ratio: `${f2(best(t.off) / git)}×`, target: 'reference', met: '' })
        const bound = Math.floor(pkg.files / 50 + pkgDirs / 50 + 10)
        rows.push({ rtt, name: `requests for that cold walk (${pkg.files} files, ${pkgDirs} dirs)`, ours: String(walkRequests), baseline: `bound ${bound}`, ratio: `${f2(walkRequests / bound)}×`, target: '≤ bound', met: walkRequests <= bound ? 'met' : 'not met' })

        // 2. babel: cold tar vs prefetch + tar.
        const b = { cold: [] as number[], pf: [] as number[] }
        let tarRequests = 0
        for (let r = 0; r < ROUNDS; r++) {
          const c = await mountAndRun(url('babel.git'), 'binary', (mp) => tar(mp, bpkg.dir), server)
          b.cold.push(c.s)
          tarRequests = c.requests
          b.pf.push((await mountAndRun(url('babel.git'), 'binary', async (mp, env) => {
            await sh(BIN, ['prefetch', bpkg.dir], { cwd: mp, env })
            await tar(mp, bpkg.dir)
          }, server)).s)
          log(`rtt ${rtt} babel tar round ${r + 1}: cold ${f2(c.s)} s (${c.requests} requests), prefetch+tar ${f2(b.pf[b.pf.length - 1])} s`)
        }
        const bdirs = dirsUnder(babelFiles, bpkg.dir)
        const bbound = Math.floor(bpkg.files / 50 + bdirs / 50 + 10)
        rows.push({ rtt, name: `babel: mount + cold tar of ${bpkg.dir} (${bpkg.files} files) [binary]`, ours: `${f2(best(b.cold))} s`, baseline: `prefetch + tar ${f2(best(b.pf))} s`, ratio: `${f2(best(b.cold) / best(b.pf))}×`, target: '≤ 1.5×', met: best(b.cold) / best(b.pf) <= 1.5 ? 'met' : 'not met' })
        rows.push({ rtt, name: `babel: requests for that cold walk (${bpkg.files} files, ${bdirs} dirs)`, ours: String(tarRequests), baseline: `bound ${bbound}`, ratio: `${f2(tarRequests / bbound)}×`, target: '≤ bound', met: tarRequests <= bbound ? 'met' : 'not met' })

        if (rtt === RTTS[0]) {
          // 4. ls -lR of the cold package: sizes in batches, no contents.
          const l = await mountAndRun(url('mono100k.git'), 'binary', (mp) => sh('ls', ['-lR', pkg.dir], { cwd: mp }), server)
          rows.push({ rtt, name: `ls -lR of cold ${pkg.dir} (${pkgDirs} dirs): requests after mount`, ours: `${l.requests} (${f2(l.afterMount)} s)`, baseline: `dirs/50 + 10 = ${Math.floor(pkgDirs / 50 + 10)}`, ratio: '', target: 'O(dirs/batch)', met: l.requests <= pkgDirs / 50 + 10 ? 'met' : 'not met' })
          // 5. waste: one file in each of 20 random directories (fixed seed).
          const dirs = [...new Set(monoFiles.map((p) => p.slice(0, p.lastIndexOf('/'))))].filter(Boolean)
          let seed = 13
          const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
          const picks: string[] = []
          while (picks.length < 20) {
            const d = dirs[Math.floor(rand() * dirs.length)]
            const inDir = monoFiles.filter((p) => p.startsWith(d + '/') && !p.slice(d.length + 1).includes('/'))
            if (inDir.length && !picks.some((p) => p.startsWith(d + '/'))) picks.push(inDir[Math.floor(rand() * inDir.length)])
          }
          let read = 0
          const w = await mountAndRun(url('mono100k.git'), 'binary', async (mp) => {
            for (const p of picks) read += (await sh('cat', [p], { cwd: mp })).length
          }, server, { extra: ['--debug'] })
          const ahead = [...w.log.matchAll(/read-ahead: trigger=.* bytes=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0)
          rows.push({ rtt, name: 'cat of one file in each of 20 random dirs: bytes fetched ahead, never read', ours: `${ahead} B`, baseline: `read ${read} B`, ratio: `${f2(ahead / read)}×`, target: '≤ 2×', met: ahead <= 2 * read ? 'met' : 'not met' })
        }
      } finally {
        await proxy.close()
      }
    }
    // 6. warm tar: fetched once (prefetch), then read as a build would, beside the floor.
    if (!args.includes('--no-warm')) await warmTar(server.base, babel, babelFiles)
  } finally {
    await server.close()
  }
  console.log(`Run of ${new Date().toISOString()}, best of ${ROUNDS} round(s), interleaved; proxy adds RTT/2 each way.\n`)
  console.log('| RTT | what | ours | baseline | ratio | target | |')
  console.log('|---|---|---|---|---|---|---|')
  for (const r of rows) console.log(`| ${r.rtt} ms | ${r.name} | ${r.ours} | ${r.baseline} | ${r.ratio} | ${r.target} | ${r.met} |`)
}

await main()
