// README's demo from a fresh clone with nothing beside it: the project carries its own generator,
// so `npm run demo` generates, serves and mounts with no other directory around. The clone is made
// in an empty temporary directory; node_modules is this checkout's (what `npm ci` would install:
// CI's own `npm ci` in a clean clone proves that step). Then, as a user would: `ls` and `cat`
// through the mount, Ctrl-C (SIGINT to the whole process group), and nothing may stay mounted.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'

const root = resolve('.')
const mounted = (dir: string) => readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === dir)
const groupAlive = (pgid: number) => {
  try {
    process.kill(-pgid, 0)
    return true
  } catch {
    return false
  }
}

test('npm run demo works in a clone with nothing beside it; Ctrl-C leaves nothing mounted', async () => {
  const empty = mkdtempSync(join(tmpdir(), 'scorpio-fresh-'))
  const clone = join(empty, 'scorpio')
  const ws = join(clone, 'demo-ws')
  execFileSync('git', ['clone', '--quiet', root, clone])
  symlinkSync(join(root, 'node_modules'), join(clone, 'node_modules'))
  assert.equal(readdirSync(empty), ['scorpio'], 'nothing beside the clone')

  const demo = spawn('npm', ['run', 'demo'], { cwd: clone, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, XDG_STATE_HOME: join(empty, 'state'), XDG_CACHE_HOME: join(empty, 'cache') } })
  let output = ''
  demo.stdout.on('data', (c) => (output += c))
  demo.stderr.on('data', (c) => (output += c))
  const exited = new Promise<number | null>((r) => demo.on('exit', (code) => r(code)))
  try {
    // A guard against a hang, not a measure: the demo either prints its instructions or exits.
    const ready = await Promise.race([
      new Promise<boolean>((r) => {
        const check = () => (output.includes('Press Ctrl-C') ? r(true) : undefined)
        demo.stdout.on('data', check)
        demo.stderr.on('data', check)
      }),
      exited.then(() => false),
      new Promise<boolean>((r) => setTimeout(() => r(false), 300_000).unref()),
    ])
    assert.ok(ready, `the demo did not get ready:\n${output}`)
    assert.ok(mounted(ws), 'demo-ws is a mount')

    const repo = join(clone, '.cache', 'demo', 'monorepo.git')
    const top = readdirSync(ws).sort()
    assert.ok(top.includes('packages') && top.includes('README.md'), top.join(' '))
    const files = execFileSync('git', ['-C', repo, 'ls-tree', '-r', '--name-only', 'HEAD'], { encoding: 'utf8', maxBuffer: 1 << 26 }).trim().split('\n')
    assert.ok(files.length > 10000, `the demo repository has ${files.length} files`)
    assert.equal(readdirSync(join(ws, 'packages')).sort(), [...new Set(files.filter((f) => f.startsWith('packages/')).map((f) => f.split('/')[1]))].sort())
    for (const path of [files[1], files[Math.floor(files.length / 2)], files[files.length - 1]]) {
      const want = execFileSync('git', ['-C', repo, 'cat-file', 'blob', `HEAD:${path}`], { maxBuffer: 1 << 26 })
      assert.ok(readFileSync(join(ws, path)).equals(want), `cat ${path} through the mount`)
    }

    process.kill(-demo.pid!, 'SIGINT')
    await exited
    assert.match(output, /demo: unmounted/)
    assert.not.ok(mounted(ws), 'nothing left mounted')
  } finally {
    if (groupAlive(demo.pid!)) process.kill(-demo.pid!, 'SIGKILL')
    if (mounted(ws)) execFileSync('umount', ['-l', ws])
    if (existsSync(empty)) rmSync(empty, { recursive: true, force: true })
  }
})

test.run()
