// Runs every tests/**/*.test.ts file in its own process (a hung or crashed mount test cannot take
// the others down), totals uvu's counts and ends with the line CI reads: `N passed, N failed`.
//
//   node scripts/run_tests.mjs [--runtime node|deno|bun] [--timeout SECONDS] [PATH...]
import { execFileSync, spawn } from 'node:child_process'
import { readdirSync, statSync } from 'node:fs'
import { join, relative } from 'node:path'

const args = process.argv.slice(2)
let runtime = 'node'
let timeoutS = Number(process.env.SCORPIO_TEST_TIMEOUT ?? 600)
const roots = []
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--runtime') runtime = args[++i]
  else if (args[i] === '--timeout') timeoutS = Number(args[++i])
  else roots.push(args[i])
}
if (roots.length === 0) roots.push('tests')

function collect(p, out) {
  const st = statSync(p)
  if (st.isFile()) {
    if (p.endsWith('.test.ts')) out.push(p)
    return out
  }
  for (const name of readdirSync(p).sort()) {
    if (name === 'node_modules' || name.startsWith('.')) continue
    collect(join(p, name), out)
  }
  return out
}
const files = roots.flatMap((r) => collect(r, []))

// Tests that run the CLI use dist/scorpio.mjs when it is newer than cli/ and lib/ (else a slower
// fallback from source): build it first if an edit made it stale, as `npm ci` did on a fresh clone.
function newest(dir) {
  let t = 0
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath ?? e.path, e.name)).mtimeMs)
  return t
}
const bundle = join('dist', 'scorpio.mjs')
const bundleTime = (() => { try { return statSync(bundle).mtimeMs } catch { return 0 } })()
if (bundleTime < Math.max(newest('cli'), newest('lib'), statSync('package.json').mtimeMs)) {
  console.log('building dist/scorpio.mjs (older than its sources) ...')
  execFileSync(process.execPath, [join('scripts', 'build.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] })
}
const bin = (name) => join('node_modules', '.bin', name)
const command = {
  node: (f) => [process.execPath, ['--import', 'tsx', f]],
  deno: (f) => [bin('deno'), ['run', '-A', '--unstable-sloppy-imports', f]],
  bun: (f) => [bin('bun'), ['run', f]],
}[runtime]
if (!command) {
  console.error(`Unknown runtime '${runtime}': use node, deno or bun`)
  process.exit(2)
}

function runFile(file) {
  return new Promise((resolve) => {
    const [cmd, argv] = command(file)
    const child = spawn(cmd, argv, {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' },
      detached: true,
    })
    let out = ''
    const take = (stream, sink) => stream.on('data', (d) => { out += d; sink.write(d) })
    take(child.stdout, process.stdout)
    take(child.stderr, process.stderr)
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      try { process.kill(-child.pid, 'SIGTERM') } catch {}
      setTimeout(() => { try { process.kill(-child.pid, 'SIGKILL') } catch {} }, 5000).unref()
    }, timeoutS * 1000)
    child.on('close', (code) => {
      clearTimeout(timer)
      const num = (label) => {
        const m = out.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, 'm'))
        return m ? Number(m[1]) : undefined
      }
      const total = num('Total')
      const passed = num('Passed')
      const skipped = num('Skipped') ?? 0
      if (total === undefined || passed === undefined || timedOut) {
        const why = timedOut ? `timed out after ${timeoutS}s` : `exited with code ${code} before reporting`
        console.log(`✘ ${file}: ${why}`)
        resolve({ passed: passed ?? 0, failed: Math.max(1, (total ?? 0) - (passed ?? 0)), skipped })
        return
      }
      let failed = total - passed - skipped
      if (code !== 0 && failed === 0) failed = 1
      resolve({ passed, failed, skipped })
    })
  })
}

const sum = { passed: 0, failed: 0, skipped: 0 }
const failedFiles = []
const started = Date.now()
for (const file of files) {
  console.log(`\n# ${relative('.', file)} (${runtime})`)
  const r = await runFile(file)
  sum.passed += r.passed
  sum.failed += r.failed
  sum.skipped += r.skipped
  if (r.failed) failedFiles.push(file)
}
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(1)}s`)
if (failedFiles.length) console.log(`failing files:\n  ${failedFiles.join('\n  ')}`)
console.log(`${sum.passed} passed, ${sum.failed} failed${sum.skipped ? `, ${sum.skipped} skipped` : ''}`)
process.exit(sum.failed ? 1 : 0)
