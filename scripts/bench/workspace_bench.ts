// Workspace benchmark (issue 5), on a 100,000-file repo generated with scripts/gen_monorepo.mjs
// (--commits 2) into bench-data/ (gitignored, reused between runs):
//   - `scorpio status --json` (whole command, process start included) with 100 modified files vs
//     `git status --porcelain` in a full checkout with the same edits        (target ≤ 0.05×)
//   - `scorpio commit` + `scorpio push` of 100 files vs git add -A/commit/push  (target ≤ 1.0×)
//   - `scorpio checkout` between two commits differing in 0.5% of files vs `git checkout` (target ≤ 0.5×)
// The workspace runs offline (not mounted): the commands work on the state dir in-process.
// `scorpio` is the single binary the project ships (dist/scorpio, `npm run compile`; rebuilt here when
// missing or older than the sources); the targets are measured on it. The same run also times the
// Node CLI (`node dist/scorpio.mjs`, what `npx scorpio` runs) and reports it beside, for reference:
// Node alone takes ~60 ms to start, so no Node command can meet a 50 ms status.
// Run: node --import tsx scripts/bench/workspace_bench.ts [--files N]
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync, chmodSync } from 'node:fs'
import { loadavg } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { performance } from 'node:perf_hooks'
import { openLocalRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { createWorkspaceState } from '../../lib/workspace/state.ts'
import { BINARY, ensureBuilt, NODE_CLI } from '../_build.ts'

const ROOT = resolve(import.meta.dirname ?? '.', '..', '..')
const GEN = resolve(ROOT, 'scripts', 'gen_monorepo.mjs')

export interface BenchRow {
  name: string
  /** `binary` (dist/scorpio, the shipped command: targets apply) or `node` (dist/scorpio.mjs, for reference). */
  cli: 'binary' | 'node'
  scorpioSeconds: number
  gitSeconds: number
  ratio: number
  /** Undefined for the reference rows. */
  target?: number
  ok: boolean
}

function git(cwd: string, args: string[], env: Record<string, string> = {}): string {
  return execFileSync('git', args, { cwd, maxBuffer: 1 << 30, env: { ...process.env, ...IDENT, ...env } }).toString()
}

const IDENT = { GIT_AUTHOR_NAME: 'Bench', GIT_AUTHOR_EMAIL: 'bench@example.com', GIT_COMMITTER_NAME: 'Bench', GIT_COMMITTER_EMAIL: 'bench@example.com' }

function timed(cmd: string, args: string[], cwd: string): number {
  const t0 = performance.now()
  const r = spawnSync(cmd, args, { cwd, env: { ...process.env, ...IDENT }, maxBuffer: 1 << 30 })
  const dt = (performance.now() - t0) / 1000
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr?.toString()}`)
  return dt
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

type Cli = 'binary' | 'node'

function scorpio(cli: Cli, args: string[], cwd = ROOT): number {
  return cli === 'binary' ? timed(BINARY, args, cwd) : timed(process.execPath, [NODE_CLI, ...args], cwd)
}

/** 100 text files spread over the repo (every k-th regular file). */
function pickFiles(checkout: string, n: number): string[] {
  const all = git(checkout, ['ls-files', '-s']).split('\n').filter((l) => l.startsWith('100644'))
  const step = Math.max(1, Math.floor(all.length / n))
  const out: string[] = []
  for (let i = 0; i < all.length && out.length < n; i += step) {
    const path = all[i].split('\t')[1]
    if (!/\.(bin|dat)$/.test(path)) out.push(path)
  }
  return out
}

function editBoth(checkout: string, upper: string, files: string[], round: number): void {
  for (const f of files) {
    const body = Buffer.concat([readFileSync(join(checkout, f)), Buffer.from(`edit ${round}\n`)])
    writeFileSync(join(checkout, f), body)
    mkdirSync(dirname(join(upper, f)), { recursive: true })
    writeFileSync(join(upper, f), body)
    chmodSync(join(upper, f), 0o644)
  }
}

export async function runWorkspaceBench(options: { files?: number; log?: (line: string) => void } = {}): Promise<BenchRow[]> {
  const log = options.log ?? ((l: string) => console.log(l))
  const files = options.files ?? 100000
  const data = join(ROOT, 'bench-data')
  mkdirSync(data, { recursive: true })
  const repo = join(data, `ws-mono-${files / 1000}k.git`)
  if (!existsSync(join(repo, 'HEAD'))) {
    log(`generating ${repo} (${files} files, 2 commits)…`)
    execFileSync(process.execPath, [GEN, repo, '--files', String(files), '--commits', '2'], { stdio: 'inherit' })
  }
  ensureBuilt(log)
  const head = git(repo, ['rev-parse', 'HEAD']).trim()
  const prev = git(repo, ['rev-parse', 'HEAD~1']).trim()
  const checkout = join(data, `ws-checkout-${files / 1000}k`)
  if (!existsSync(join(checkout, '.git'))) {
    log('full checkout for git (once)…')
    git(data, ['clone', '-q', repo, checkout])
  }
  // Push targets: fresh bare copies each run (same paths, so the object cache stays valid).
  const gitTarget = join(data, 'ws-git-target.git')
  const wsRemote = join(data, 'ws-remote.git')
  for (const t of [gitTarget, wsRemote]) {
    rmSync(t, { recursive: true, force: true })
    git(data, ['clone', '-q', '--bare', '--local', repo, t])
  }
  git(checkout, ['remote', 'set-url', 'origin', gitTarget])
  git(checkout, ['checkout', '-q', '-B', 'main', head])
  git(checkout, ['reset', '-q', '--hard', head])
  git(checkout, ['clean', '-qfd'])
  git(checkout, ['branch', '-q', '--set-upstream-to=origin/main', 'main'])
  git(checkout, ['fetch', '-q', 'origin'])

  const stateDir = join(data, 'ws-state')
  const cacheDir = join(data, 'ws-cache')
  rmSync(stateDir, { recursive: true, force: true })
  await createWorkspaceState(stateDir, { remote: { url: wsRemote }, ref: 'main', base: head, pushed: head, mountpoint: join(data, 'ws-mnt'), cacheDir })
  const store = await openStore({ remote: await openLocalRemote(wsRemote), cacheDir })
  let t0 = performance.now()
  // The trees of both commits, fetched the way a mount fetches them (into a pack of the object DB).
  for (const c of [head, prev]) await store.loadCommit(c)
  log(`trees of both commits in the store: ${((performance.now() - t0) / 1000).toFixed(2)} s`)
  await store.close()
  const upper = join(stateDir, 'upper')
  const edits = pickFiles(checkout, 100)
  editBoth(checkout, upper, edits, 1)
  const rows: BenchRow[] = []
  const row = (name: string, cli: Cli, s: number, g: number, target?: number) => {
    const ratio = s / g
    const r: BenchRow = { name, cli, scorpioSeconds: s, gitSeconds: g, ratio, target, ok: target === undefined || ratio <= target }
    rows.push(r)
    const verdict = target === undefined ? '(reference)' : `(target ≤ ${target}) ${r.ok ? 'OK' : 'MISSED'}`
    log(`${name} [${cli === 'binary' ? 'binary dist/scorpio' : 'node dist/scorpio.mjs'}]: scorpio ${s.toFixed(3)} s, git ${g.toFixed(3)} s, ratio ${ratio.toFixed(3)} ${verdict}`)
  }
  log(`load average at start: ${loadavg().map((l) => l.toFixed(2)).join(' ')} (${process.env.BENCH_NOTE ?? 'shared 2-core machine'})`)
  const startup = { binary: [] as number[], node: [] as number[] }
  for (let i = 0; i < 5; i++) for (const cli of ['binary', 'node'] as const) startup[cli].push(scorpio(cli, ['--version']))
  log(`process start (--version): binary ${median(startup.binary).toFixed(3)} s, node ${median(startup.node).toFixed(3)} s`)

  // status: both CLIs must see the 100 edits
  for (const cli of ['binary', 'node'] as const) {
    const out = execFileSync(cli === 'binary' ? BINARY : process.execPath, [...(cli === 'binary' ? [] : [NODE_CLI]), 'status', '--json', '-C', stateDir]).toString()
    const n = JSON.parse(out).changes.length
    if (n !== edits.length) throw new Error(`status (${cli}) saw ${n} changes, expected ${edits.length}`)
  }
  timed('git', ['status', '--porcelain'], checkout) // warm the index/stat cache
  const sTimes = { binary: [] as number[], node: [] as number[] }
  const gTimes: number[] = []
  // Short commands are at the mercy of the scheduler on a loaded machine: more samples than git's.
  for (let i = 0; i < 9; i++) {
    sTimes.binary.push(scorpio('binary', ['status', '--json', '-C', stateDir]))
    sTimes.node.push(scorpio('node', ['status', '--json', '-C', stateDir]))
    if (i % 2 === 0) gTimes.push(timed('git', ['status', '--porcelain'], checkout))
  }
  row('status (100 modified of 100k)', 'binary', median(sTimes.binary), median(gTimes), 0.05)
  row('status (100 modified of 100k)', 'node', median(sTimes.node), median(gTimes))
  // The runs above answer from status-cache.json (kept by the first of them). Without it — the first
  // status after an edit — status scans the upper layer, reads the trees on the edited paths and
  // hashes the edited files:
  const cold: number[] = []
  for (let i = 0; i < 3; i++) {
    rmSync(join(stateDir, 'status-cache.json'), { force: true })
    cold.push(scorpio('binary', ['status', '--json', '-C', stateDir]))
  }
  row('status, first after the edits (nothing kept)', 'binary', median(cold), median(gTimes))

  // The same status with the workspace mounted: the mount process answers over the control socket.
  const mnt = join(data, 'ws-mnt')
  mkdirSync(mnt, { recursive: true })
  const mounted = spawnSync(BINARY, ['mount', wsRemote, mnt, '--state', stateDir, '--cache', cacheDir, '--background'], { timeout: 120_000 })
  if (mounted.status !== 0) {
    log(`mounted status: not measured, the mount failed: ${mounted.stderr?.toString().trim().split('\n')[0]}`)
  } else {
    try {
      const mTimes = { binary: [] as number[], node: [] as number[] }
      for (let i = 0; i < 9; i++) {
        mTimes.binary.push(scorpio('binary', ['status', '--json', '-C', mnt]))
        mTimes.node.push(scorpio('node', ['status', '--json', '-C', mnt]))
      }
      row('status while mounted (control socket)', 'binary', median(mTimes.binary), median(gTimes))
      row('status while mounted (control socket)', 'node', median(mTimes.node), median(gTimes))
    } finally {
      spawnSync(BINARY, ['umount', mnt], { timeout: 60_000 })
    }
  }

  // commit + push: the binary on the first 100 edits, the Node CLI on a second round of them
  for (const cli of ['binary', 'node'] as const) {
    if (cli === 'node') editBoth(checkout, upper, edits, 2)
    const sCommit = scorpio(cli, ['commit', '-m', 'bench edit', '-C', stateDir])
    const sPush = scorpio(cli, ['push', '-C', stateDir])
    t0 = performance.now()
    git(checkout, ['add', '-A'])
    git(checkout, ['commit', '-q', '-m', 'bench edit'])
    git(checkout, ['push', '-q', 'origin', 'main'])
    const gCommitPush = (performance.now() - t0) / 1000
    row('commit + push (100 files)', cli, sCommit + sPush, gCommitPush, cli === 'binary' ? 1.0 : undefined)
  }

  // checkout between two commits differing in ~0.5% of files (HEAD~1 <-> HEAD), both CLIs taking
  // turns; the first move (away from the bench's own commits) is a warm-up for both sides.
  const coTimes = { binary: [] as number[], node: [] as number[] }
  const gCo: number[] = []
  const targets = [prev, head, prev, head, prev, head, prev]
  for (let i = 0; i < targets.length; i++) {
    const cli: Cli = i % 2 === 1 ? 'binary' : 'node'
    const s = scorpio(cli, ['checkout', targets[i], '-C', stateDir, '--force'])
    const g = timed('git', ['checkout', '-q', '--detach', targets[i]], checkout)
    if (i === 0) continue
    coTimes[cli].push(s)
    gCo.push(g)
  }
  row('checkout (0.5% of files differ)', 'binary', median(coTimes.binary), median(gCo), 0.5)
  row('checkout (0.5% of files differ)', 'node', median(coTimes.node), median(gCo))
  return rows
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(ROOT, 'scripts', 'bench', 'workspace_bench.ts')) {
  const i = process.argv.indexOf('--files')
  const rows = await runWorkspaceBench({ files: i > 0 ? Number(process.argv[i + 1]) : undefined })
  console.log(JSON.stringify(rows))
}
