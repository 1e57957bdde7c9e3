// 1,000,000-file benchmark (issue 15): a repository of realistic shape (~10 files per directory,
// directories up to 7 deep, three flat directories of 12,000 entries) with 10,000 commits touching
// 3 files each, generated once with scripts/gen_monorepo.mjs into bench-data/mono1m.git and served
// by git http-backend (in its own process). Measured with the shipped binary dist/scorpio:
//   a. `scorpio mount --background` until `ls` answers vs git clone --filter=blob:none --depth 1
//      --no-checkout (≤ 1.0×); the Node CLI beside it (reference)
//   b. first `find` of the whole tree vs `find` on a full checkout (completes; reported beside),
//      with the server requests it cost
//   c. RSS of the mount after that walk, above its idle RSS (after the mount settled), per file (≤ 400 B)
//   d. `scorpio status` with 100 edits (made through the mount) vs `git status` on the full checkout
//      with the same edits (≤ 0.05×)
//   e. `scorpio checkout` of HEAD~10 and back (O(changes): ~30 files differ) vs git checkout on the
//      full checkout, and `scorpio prefetch` of a ~400-file subtree (reference rows with their requests)
//   f. first `find` of a fresh mount (cold cache) through the latency proxy (RTT 20 ms), with its
//      requests, beside `find` on the checkout
// Run alone: node --import tsx scripts/bench/bigtree_bench.ts [--repo PATH.git]
import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { BINARY, ensureBuilt, NODE_CLI } from '../_build.ts'
import { startLatencyProxy } from './latency_proxy.ts'
import { startServer } from './_server.ts'
import { cpuTicks } from './_proc.ts'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')
const GEN = join(root, 'scripts', 'gen_monorepo.mjs')
/** The generator's options for the 1M-file repository (a few minutes; ~1.5 GB). */
export const MONO1M_OPTIONS = ['--files', '1000000', '--commits', '10000', '--touch', '3', '--merge-every', '50', '--median', '600', '--big-every', '50000', '--per-package', '4000', '--width', '3']

interface Ran { s: number; stdout: string; stderr: string; code: number }

function sh(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; check?: boolean } = {}): Promise<Ran> {
  return new Promise((res, rej) => {
    const t0 = performance.now()
    const p = spawn(cmd, args, { cwd: opts.cwd ?? root, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => out.push(d))
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', rej)
    p.on('close', (code) => {
      const r = { s: (performance.now() - t0) / 1000, stdout: Buffer.concat(out).toString(), stderr, code: code ?? 1 }
      if (opts.check !== false && r.code !== 0) rej(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.slice(-1500)}`))
      else res(r)
    })
  })
}

/** Lines of output without keeping a 100 MB string (find of a million entries). */
function countLines(cmd: string, args: string[], cwd = root): Promise<{ s: number; lines: number }> {
  return new Promise((res, rej) => {
    const t0 = performance.now()
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let lines = 0
    let stderr = ''
    p.stdout.on('data', (d: Buffer) => { for (let i = d.indexOf(10); i >= 0; i = d.indexOf(10, i + 1)) lines++ })
    p.stderr.on('data', (d) => (stderr += d))
    p.on('error', rej)
    p.on('close', (code) => (code === 0 ? res({ s: (performance.now() - t0) / 1000, lines }) : rej(new Error(`${cmd} ${args.join(' ')} failed (${code}): ${stderr.slice(-1500)}`))))
  })
}

function status(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : NaN
}

/** Resolves once `pid` has used under 2 ticks of CPU in a second (at most 10 minutes). */
async function settled(pid: number): Promise<void> {
  for (let i = 0, last = cpuTicks(pid); i < 600; i++) {
    await new Promise((r) => setTimeout(r, 1000))
    const now = cpuTicks(pid)
    if (now - last < 2) return
    last = now
  }
}

export interface Row { name: string; ours: number; base: number | null; unit: string; target: string; ok: boolean; note: string }

export async function runBigTreeBench(options: { repo?: string; log?: (s: string) => void } = {}): Promise<Row[]> {
  const log = options.log ?? ((s: string) => console.error(s))
  ensureBuilt(log)
  const data = realpathSync(join(root, 'bench-data'))
  const repo = options.repo ? resolve(options.repo) : join(data, 'mono1m.git')
  if (!existsSync(join(repo, 'HEAD'))) {
    log(`generating ${repo} (${MONO1M_OPTIONS.join(' ')}); a few minutes…`)
    rmSync(repo, { recursive: true, force: true })
    await sh(process.execPath, [GEN, repo, ...MONO1M_OPTIONS])
  }
  const work = join(data, `bigtree-bench-${root.split('/').pop()}`)
  rmSync(work, { recursive: true, force: true })
  mkdirSync(work, { recursive: true })
  const env = { ...process.env, XDG_STATE_HOME: join(work, 'xdg-state'), XDG_RUNTIME_DIR: join(work, 'xdg-run'), NO_COLOR: '1' }
  const scorpio = (args: string[], cwd?: string) => sh(BINARY, args, { env, cwd })
  const node = (args: string[], cwd?: string) => sh(process.execPath, [NODE_CLI, ...args], { env, cwd })
  const rows: Row[] = []
  const row = (name: string, ours: number, base: number | null, unit: string, target: string, ok: boolean, note = '') => {
    rows.push({ name, ours, base, unit, target, ok, note })
    log(`${name}: ${ours.toFixed(3)} ${unit}${base !== null ? ` vs ${base.toFixed(3)} ${unit} → ${(ours / base).toFixed(3)}×` : ''} (target ${target}) ${ok ? 'ok' : 'MISSED'} ${note}`)
  }
  const server = await startServer(dirname(repo))
  const url = `${server.base}/${repo.split('/').pop()}`
  const mounts: string[] = []
  const mount = async (at: string, cache: string, remote = url, cli = scorpio) => {
    mkdirSync(at, { recursive: true })
    const t0 = performance.now()
    await cli(['mount', remote, at, '--background', '--cache', cache, '--state', `${at}-state`])
    mounts.push(at)
    const ls = await sh('ls', [at])
    if (!ls.stdout.includes('packages')) throw new Error(`the mount at ${at} lists ${ls.stdout.trim()}`)
    return (performance.now() - t0) / 1000
  }
  const pidOf = async (at: string): Promise<number> => {
    const list = JSON.parse((await scorpio(['list', '--json'])).stdout) as { mountpoint: string; pid: number }[] | { mounts: { mountpoint: string; pid: number }[] }
    return (Array.isArray(list) ? list : list.mounts).find((m) => resolve(m.mountpoint) === resolve(at))?.pid ?? 0
  }
  const umount = async (at: string) => {
    await scorpio(['umount', at]).catch(() => sh('umount', ['-l', at], { check: false }))
    mounts.splice(mounts.indexOf(at), 1)
  }
  const proxy = await startLatencyProxy({ port: Number(new URL(server.base).port), delayMs: 10 })
  try {
    const files = Number((await sh('sh', ['-c', `git --git-dir '${repo}' ls-tree -r HEAD | wc -l`])).stdout.trim())
    const commits = Number((await sh('git', ['--git-dir', repo, 'rev-list', '--count', 'HEAD'])).stdout.trim())
    log(`${repo}: ${files} files at HEAD, ${commits} commits`)

    // a. Mount until ls (cold cache) vs the depth-1 blobless clone, interleaved, best of 2.
    let clone = Infinity
    let ours = Infinity
    for (let i = 0; i < 2; i++) {
      const c = await sh('git', ['clone', '-q', '--filter=blob:none', '--depth', '1', '--no-checkout', url, join(work, `blobless-${i}`)])
      clone = Math.min(clone, c.s)
      rmSync(join(work, `blobless-${i}`), { recursive: true, force: true })
      ours = Math.min(ours, await mount(join(work, `mnt-a${i}`), join(work, `cache-a${i}`)))
      await umount(join(work, `mnt-a${i}`))
      rmSync(join(work, `cache-a${i}`), { recursive: true, force: true })
    }
    row(`mount until ls answers, ${files} files [binary dist/scorpio]`, ours, clone, 's', '≤ 1.0×', ours <= clone, '(git clone --filter=blob:none --depth 1 --no-checkout; best of 2 each, interleaved, cold cache)')
    const oursNode = await mount(join(work, 'mnt-node'), join(work, 'cache-node'), url, node)
    await umount(join(work, 'mnt-node'))
    rmSync(join(work, 'cache-node'), { recursive: true, force: true })
    row(`mount until ls answers [node dist/scorpio.mjs]`, oursNode, clone, 's', '— (reference)', true, '(one sample)')

    // The full checkout git works on (and its find).
    const full = join(work, 'full')
    const fc = await sh('git', ['clone', '-q', '--depth', '11', `file://${repo}`, full])
    log(`full checkout: ${fc.s.toFixed(1)} s`)

    // b, c. A mount on a fresh cache; idle RSS once it settled (trees in); the first find; RSS after.
    const mp = join(work, 'mnt')
    await mount(mp, join(work, 'cache'))
    const pid = await pidOf(mp)
    if (!pid) throw new Error('mount pid not found in scorpio list --json')
    await settled(pid)
    const idle = status(pid, 'VmRSS')
    const r0 = await server.requests()
    const find = await countLines('find', [mp])
    const findRequests = (await server.requests()) - r0
    const findFull = await countLines('find', [full, '-path', '*/.git', '-prune', '-o', '-print'])
    row(`first find of the whole tree [binary dist/scorpio]`, find.s, findFull.s, 's', 'completes', find.lines >= findFull.lines - 1,
      `(${find.lines} entries vs ${findFull.lines} on the checkout; ${findRequests} server requests; base: find on the full checkout, page cache warm)`)
    await settled(pid)
    const walked = status(pid, 'VmRSS')
    const perFile = (walked - idle) / files
    row(`RSS after the full walk, above idle, per file [binary dist/scorpio]`, perFile, null, 'B/file', '≤ 400 B', perFile <= 400,
      `(VmRSS ${(idle / 1048576).toFixed(0)} MB idle → ${(walked / 1048576).toFixed(0)} MB after find; peak ${(status(pid, 'VmHWM') / 1048576).toFixed(0)} MB)`)
    const find2 = await countLines('find', [mp])
    const findFull2 = await countLines('find', [full, '-path', '*/.git', '-prune', '-o', '-print'])
    row(`second find [binary dist/scorpio]`, find2.s, findFull2.s, 's', '— (reference)', true, '')

    // d. 100 edits through the mount and the same in the checkout; status on both.
    const listed = (await sh('git', ['-C', full, 'ls-files', '-s'])).stdout.split('\n').filter((l) => l.startsWith('100644'))
    const edits: string[] = []
    for (let i = 0; i < listed.length && edits.length < 100; i += Math.floor(listed.length / 100)) edits.push(listed[i].split('\t')[1])
    for (const f of edits) {
      appendFileSync(join(mp, f), 'bench edit\n')
      appendFileSync(join(full, f), 'bench edit\n')
    }
    const seen = JSON.parse((await scorpio(['status', '--json', '-C', mp])).stdout) as { changes: { status: string }[] }
    const n = seen.changes.filter((c) => c.status === 'modified').length
    if (n !== edits.length) throw new Error(`status saw ${n} modified files, expected ${edits.length}`)
    await sh('git', ['status', '--porcelain'], { cwd: full }) // warms its index and stat cache
    const ts: number[] = []
    const gs: number[] = []
    for (let i = 0; i < 5; i++) {
      ts.push((await scorpio(['status', '--json', '-C', mp])).s)
      gs.push((await sh('git', ['status', '--porcelain'], { cwd: full })).s)
    }
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
    row(`status with 100 edits [binary dist/scorpio]`, med(ts), med(gs), 's', '≤ 0.05×', med(ts) / med(gs) <= 0.05, `(mounted: the mount answers; git status --porcelain on the full checkout, warm; median of 5; status saw ${n} modified)`)

    // e. Checkout of HEAD~10 and back, with the edits discarded (--force), and a prefetch.
    const back = (await sh('git', ['--git-dir', repo, 'rev-parse', 'HEAD~10'])).stdout.trim()
    const head = (await sh('git', ['--git-dir', repo, 'rev-parse', 'HEAD'])).stdout.trim()
    await sh('git', ['checkout', '-q', '-f', 'HEAD'], { cwd: full })
    let r1 = await server.requests()
    const co = await scorpio(['checkout', back, '--force', '-C', mp])
    const coReq = (await server.requests()) - r1
    const gco = await sh('git', ['checkout', '-q', '--detach', back], { cwd: full })
    const co2 = await scorpio(['checkout', head, '--force', '-C', mp])
    const gco2 = await sh('git', ['checkout', '-q', '--detach', head], { cwd: full })
    const changed = (await sh('git', ['--git-dir', repo, 'diff', '--name-only', back, head])).stdout.split('\n').filter(Boolean).length
    row(`checkout HEAD~10 (${changed} files differ), first time [binary dist/scorpio]`, co.s, gco.s, 's', '— (O(changes))', true, `(${coReq} server requests; git checkout on the full checkout)`)
    row(`checkout back to HEAD [binary dist/scorpio]`, co2.s, gco2.s, 's', '— (O(changes))', true, '')
    // A directory of a few hundred files: packages/pkgNNNN/<kind>/dN of the last edited path.
    const sub = edits[edits.length - 1].split('/').slice(0, 4).join('/')
    r1 = await server.requests()
    const pf = await scorpio(['prefetch', '--json', join(mp, sub)], mp)
    const pfReq = (await server.requests()) - r1
    row(`prefetch of ${sub} [binary dist/scorpio]`, pf.s, null, 's', '— (O(files asked))', true, `(${pf.stdout.trim()}; ${pfReq} server requests)`)
    await umount(mp)

    // f. Through the latency proxy (RTT 20 ms), fresh cache: mount, then at once the first find;
    //    the requests counted from the mount on (its tree load and the sizing of every blob).
    const mpl = join(work, 'mnt-latency')
    const viaProxy = proxy.rewrite(url)
    const cl = await sh('git', ['clone', '-q', '--filter=blob:none', '--depth', '1', '--no-checkout', viaProxy, join(work, 'blobless-latency')])
    r1 = await server.requests()
    const ml = await mount(mpl, join(work, 'cache-latency'), viaProxy)
    row(`mount until ls through the latency proxy (RTT 20 ms) [binary dist/scorpio]`, ml, cl.s, 's', '— (reference)', true, '(git: the depth-1 blobless clone through the same proxy)')
    const fl = await countLines('find', [mpl])
    const flReq = (await server.requests()) - r1
    row(`first find through the latency proxy (RTT 20 ms), right after the mount [binary dist/scorpio]`, fl.s, findFull.s, 's', 'completes', fl.lines === find.lines, `(${fl.lines} entries; ${flReq} server requests from the mount on, tree load included; base: find on the full checkout)`)
    await umount(mpl)
  } finally {
    for (const at of [...mounts]) await umount(at)
    await proxy.close()
    await server.close()
    rmSync(work, { recursive: true, force: true })
  }
  return rows
}

export function bigTreeTable(rows: Row[]): string {
  const lines = ['| measurement | scorpio | git / native | ratio | target | met | note |', '|---|---|---|---|---|---|---|']
  for (const r of rows) {
    const v = (x: number) => `${+x.toFixed(3)} ${r.unit}`
    lines.push(`| ${r.name} | ${v(r.ours)} | ${r.base === null ? '—' : v(r.base)} | ${r.base ? `${(r.ours / r.base).toFixed(3)}×` : '—'} | ${r.target} | ${r.ok ? 'yes' : 'no'} | ${r.note} |`)
  }
  return lines.join('\n')
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf('--repo')
  const rows = await runBigTreeBench({ repo: i > 0 ? process.argv[i + 1] : undefined })
  console.log(bigTreeTable(rows))
}
