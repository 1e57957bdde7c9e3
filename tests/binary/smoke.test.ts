// The single binary end to end: `dist/scorpio` (bun build --compile) copied into an empty temp dir
// (no node_modules), run with a PATH that has no node, against a real git http-backend. Each step
// of the CLI.md contract is its own test so a run shows which parts work.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, promises as fsp, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { BINARY, ensureBinary } from './_binary.ts'
import { api, isMounted, requireFuseOnly, runCli, sandbox, serveRepo, startAntaresCli, type Sandbox, type Served } from '../antares/_env.ts'

/** System tools the binary may spawn: mount helpers, a shell, xattr tools of the `attr` package. */
const TOOLS = ['mount', 'umount', 'fusermount3', 'fusermount', 'sh', 'getfattr', 'setfattr', 'mkfifo']

let sb: Sandbox
let served: Served
let bin: string
let env: NodeJS.ProcessEnv
let work: string
let mp: string
let commit = ''

const run = (args: string[], cwd = work) => runCli(args, { env, cwd, command: [bin] })

test.before(async () => {
  requireFuseOnly()
  ensureBinary()
  sb = sandbox('scorpio-binary-')
  served = await serveRepo(40)
  // The binary alone in a directory without node_modules, and a PATH without node.
  work = sb.dir('work')
  const binDir = sb.dir('bin')
  bin = join(binDir, 'scorpio')
  copyFileSync(BINARY, bin)
  const pathDir = sb.dir('path')
  for (const tool of TOOLS) {
    const found = spawnSync('sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).stdout.trim()
    if (found) symlinkSync(found, join(pathDir, tool))
  }
  env = { ...sb.env, PATH: pathDir }
  mp = sb.dir('ws')
})
test.after(async () => {
  sb?.cleanup()
  await served?.close()
})

test('the environment has no node and no node_modules', () => {
  assert.not.ok(existsSync(join(work, 'node_modules')))
  assert.not.ok(existsSync(join(sb.root, 'node_modules')))
  const r = spawnSync(join(sb.root, 'path', 'sh'), ['-c', 'command -v node || echo none'], { env, encoding: 'utf8' })
  assert.is(r.stdout.trim(), 'none')
})

test('--version and --help', async () => {
  const v = await run(['--version'])
  assert.is(v.status, 0, v.stderr)
  assert.match(v.stdout, /^\d+\.\d+\.\d+/)
  const h = await run(['--help'])
  assert.is(h.status, 0)
  assert.match(h.stdout, /mount/)
})

test('mount --background prints ready and returns', async () => {
  const r = await run(['mount', served.url, mp, '--background'])
  assert.is(r.status, 0, r.stderr)
  assert.is(r.stdout, `ready ${mp}\n`)
  assert.ok(isMounted(mp))
})

test('read: contents equal git', async () => {
  for (const path of ['README.md', 'src/main.ts', 'gen/d3/f3.bin']) {
    const want = execFileSync('git', ['--git-dir', served.repo.path, 'show', `HEAD:${path}`])
    assert.ok((await fsp.readFile(join(mp, path))).equals(want), path)
  }
})

test('write: new file, changed file, deleted file', async () => {
  await fsp.writeFile(join(mp, 'added.txt'), 'added by the binary smoke\n')
  await fsp.appendFile(join(mp, 'README.md'), 'one more line\n')
  await fsp.rm(join(mp, 'empty.txt'))
  assert.is(await fsp.readFile(join(mp, 'added.txt'), 'utf8'), 'added by the binary smoke\n')
})

test('status --json lists the changes', async () => {
  const r = await run(['status', '--json'], mp)
  assert.is(r.status, 0, r.stderr)
  const doc = JSON.parse(r.stdout)
  assert.match(doc.base, /^[0-9a-f]{40}$/)
  assert.equal(doc.changes, [
    { path: 'README.md', status: 'modified' },
    { path: 'added.txt', status: 'added' },
    { path: 'empty.txt', status: 'deleted' },
  ])
})

test('diff prints a git diff', async () => {
  const r = await run(['diff'], mp)
  assert.is(r.status, 0, r.stderr)
  assert.match(r.stdout, /^diff --git a\/README\.md b\/README\.md$/m)
  assert.match(r.stdout, /^\+one more line$/m)
  assert.match(r.stdout, /^diff --git a\/added\.txt b\/added\.txt$/m)
})

test('commit prints the new commit id and leaves nothing pending', async () => {
  const r = await run(['commit', '-m', 'binary smoke', '--author', 'Smoke <smoke@example.com>'], mp)
  assert.is(r.status, 0, r.stderr)
  commit = r.stdout.trim()
  assert.match(commit, /^[0-9a-f]{40}$/)
  const s = await run(['status', '--json'], mp)
  assert.equal(JSON.parse(s.stdout).changes, [])
})

test('push sends the commit to the server', async () => {
  assert.ok(commit, 'needs the commit of the previous step')
  const r = await run(['push'], mp)
  assert.is(r.status, 0, r.stderr)
  const head = execFileSync('git', ['--git-dir', served.repo.path, 'rev-parse', 'refs/heads/main']).toString().trim()
  assert.is(head, commit)
  const readme = execFileSync('git', ['--git-dir', served.repo.path, 'show', 'main:README.md']).toString()
  assert.match(readme, /one more line\n$/)
})

test('umount stops the mount', async () => {
  const r = await run(['umount', mp])
  assert.is(r.status, 0, r.stderr)
  assert.not.ok(isMounted(mp))
})

test('antares serve: one job mounts, reads, unmounts; SIGTERM leaves nothing mounted', async () => {
  const s = await startAntaresCli([served.url, '--bind', '127.0.0.1:0', '--state', join(sb.root, 'antares')], env, [bin])
  try {
    const c = await api(s.url, 'POST', '/mounts', { job_id: 'smoke', path: '/' })
    assert.is(c.status, 200, JSON.stringify(c.body))
    // The job sees the server's current main (the pushed commit when the push step passed).
    const readme = await fsp.readFile(join(c.body.mountpoint, 'README.md'))
    assert.ok(readme.equals(execFileSync('git', ['--git-dir', served.repo.path, 'show', 'main:README.md'])))
    await fsp.writeFile(join(c.body.mountpoint, 'job.txt'), 'job\n')
    const d = await api(s.url, 'DELETE', `/mounts/${c.body.mount_id}`)
    assert.is(d.body.state, 'Unmounted')
  } finally {
    assert.is(await s.stop(), 0)
  }
  assert.equal(sb.mountsUnder(), [])
})

test.run()


