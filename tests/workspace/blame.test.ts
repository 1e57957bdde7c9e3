// `blame PATH` against `git blame --first-parent` on a real history (several authors and time zones,
// a merged side branch, a file removed and made again) served by git http-backend: the same owner for
// every line, the same text output, and the file's versions fetched in one request per step of the walk.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn, execFileSync } from 'node:child_process'
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { createWorkspaceState } from '../../lib/workspace/state.ts'
import { openWorkspace } from '../../lib/workspace/workspace.ts'
import { render } from '../../cli/blame.ts'
import { UsageError } from '../../lib/errors.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { SERVER_CONFIG } from '../helpers/repos.ts'

const home = mkdtempSync(join(tmpdir(), 'scorpio-blame-'))
const bare = join(home, 'srv', 'repo.git')
const work = join(home, 'work')
let server: GitServer
let head = ''

const AUTHORS = [
  ['Ada Lovelace', 'ada@example.com', '+0130'],
  ['Bo', 'bo@example.com', '-0800'],
  ['Chandrasekhar Raman', 'cr@example.com', '+0530'],
]

let tick = 1_600_000_000
function g(args: string[], who = 0): string {
  const [name, email, tz] = AUTHORS[who % AUTHORS.length]
  const date = `${tick} ${tz}`
  tick += 3600
  return execFileSync('git', args, {
    cwd: work,
    env: { ...process.env, GIT_AUTHOR_NAME: name, GIT_AUTHOR_EMAIL: email, GIT_AUTHOR_DATE: date, GIT_COMMITTER_NAME: name, GIT_COMMITTER_EMAIL: email, GIT_COMMITTER_DATE: date },
    encoding: 'utf8',
  })
}

/** A deterministic random walk of edits (insert, delete, replace) on lines that are all distinct, so
 *  that the longest common subsequence of two versions is unique and both diffs must agree. */
let seed = 7
const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n)
let fresh = 0
function edit(lines: string[], tag: string): string[] {
  const out = [...lines]
  for (let k = 1 + rand(4); k > 0; k--) {
    const at = rand(out.length + 1)
    const kind = out.length ? rand(3) : 0
    if (kind === 0) out.splice(at, 0, ...Array.from({ length: 1 + rand(3) }, () => `${tag} line ${fresh++} ünïcode`))
    else if (kind === 1) out.splice(Math.min(at, out.length - 1), 1 + rand(2))
    else out[Math.min(at, out.length - 1)] = `${tag} rewrote ${fresh++}`
  }
  return out
}

function write(path: string, lines: string[]): void {
  mkdirSync(dirname(join(work, path)), { recursive: true })
  writeFileSync(join(work, path), lines.map((l) => l + '\n').join(''))
}

test.before(async () => {
  mkdirSync(work, { recursive: true })
  g(['init', '-q', '-b', 'main'])
  let app = Array.from({ length: 40 }, () => `first line ${fresh++}`)
  let notes = ['notes 1']
  write('src/deep/dir/app.txt', app)
  write('notes.md', notes)
  write('other.txt', ['x'])
  g(['add', '-A'])
  g(['commit', '-q', '-m', 'initial import'])
  for (let i = 1; i <= 60; i++) {
    if (i % 3 !== 0) app = edit(app, `c${i}`)
    if (i % 7 === 0) notes = edit(notes, `n${i}`)
    write('src/deep/dir/app.txt', app)
    write('notes.md', notes)
    write('other.txt', [`x${i}`])
    if (i === 20) {
      // A side branch merged without fast-forward: first-parent blame gives its lines to the merge.
      g(['commit', '-q', '-am', `change ${i}`], i)
      g(['checkout', '-q', '-b', 'side'])
      app = edit(app, 'side')
      write('src/deep/dir/app.txt', app)
      g(['commit', '-q', '-am', 'side work'], i + 1)
      g(['checkout', '-q', 'main'])
      g(['merge', '-q', '--no-ff', '-m', 'merge side', 'side'], i + 2)
      continue
    }
    if (i === 40) g(['rm', '-q', 'notes.md'])
    if (i === 41) g(['add', 'notes.md'])
    g(['commit', '-q', '-am', `change ${i}`], i)
  }
  head = g(['rev-parse', 'HEAD']).trim()
  g(['clone', '-q', '--bare', work, bare])
  for (const [k, v] of SERVER_CONFIG) execFileSync('git', ['-C', bare, 'config', k, v])
  server = await startGitServer(dirname(bare))
})

test.after(async () => {
  await server?.close()
  rmSync(home, { recursive: true, force: true })
})

async function workspace(name: string, base = head, cacheDir = join(home, name, 'cache')) {
  const dir = join(home, name)
  const stateDir = join(dir, 'state')
  await createWorkspaceState(stateDir, { remote: { url: server.url('repo.git') }, ref: 'main', base, pushed: base, mountpoint: join(dir, 'mnt'), cacheDir })
  const store = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir })
  const ws = await openWorkspace(stateDir, { store })
  return { stateDir, store, ws, close: async () => (await ws.close(), await store.close()) }
}

test('every line owned as git blame --first-parent says, the same text; versions in one request a step', async () => {
  const { store, ws, close } = await workspace('a')
  try {
    await store.loadCommit(head) // as a mount has it
    for (const path of ['src/deep/dir/app.txt', 'notes.md', 'other.txt']) {
      const before = store.stats.requests
      const b = await ws.blame(path)
      const requests = store.stats.requests - before
      const porcelain = g(['blame', '--first-parent', '--line-porcelain', path])
      const want = [...porcelain.matchAll(/^([0-9a-f]{40}) (\d+) (\d+)/gm)].map((m) => ({ commit: m[1], origLine: Number(m[2]), line: Number(m[3]) }))
      assert.equal(b.lines.map(({ commit, origLine, line }) => ({ commit, origLine, line })), want, path)
      assert.is(render(b), g(['blame', '--first-parent', path]), `${path}: text`)
      if (path === 'src/deep/dir/app.txt') assert.ok(new Set(want.map((l) => l.commit)).size >= 10, 'the file has lines of many commits')
      // One step of the walk (the history is shorter than one): its commits, one request per level
      // of the path for its trees, and one for the file's versions.
      assert.ok(requests <= 2 + path.split('/').length, `${path}: ${requests} requests`)
    }
    const again = store.stats.requests
    await ws.blame('src/deep/dir/app.txt')
    assert.is(store.stats.requests, again, 'a second blame asks the server nothing')
  } finally {
    await close()
  }
})

/** Counts the store's tree reads (each commit of a walk reads its root tree). */
function countTreeReads(store: { readTree: (...a: never[]) => unknown }): { n: number } {
  const count = { n: 0 }
  const read = store.readTree.bind(store)
  store.readTree = ((...a: never[]) => (count.n++, read(...a))) as typeof store.readTree
  return count
}

test('a second walk of a path takes the steps noted in the store: from a later base, by another store of the cache, past a line cut short', async () => {
  const path = 'src/deep/dir/app.txt'
  const want = (at: string) => [...g(['blame', '--first-parent', '--line-porcelain', at, '--', path]).matchAll(/^([0-9a-f]{40}) \d+ (\d+)/gm)].map((m) => m[1])
  const cache = join(home, 'd', 'cache')
  const older = g(['rev-parse', 'HEAD~10']).trim()
  const first = await workspace('d', older, cache)
  try {
    const reads = countTreeReads(first.store)
    assert.equal((await first.ws.blame(path)).lines.map((l) => l.commit), want(older))
    assert.ok(reads.n > 50, `the first walk read every commit's trees (${reads.n})`)
    reads.n = 0
    assert.equal((await first.ws.blame(path)).lines.map((l) => l.commit), want(older))
    assert.ok(reads.n <= 4, `again: the base's path only (${reads.n} tree reads)`)
  } finally {
    await first.close()
  }
  // A crash while noting leaves a line cut short: it is skipped, and the next note is still read.
  const objects = join(cache, 'objects')
  const notes = join(objects, readdirSync(objects).find((d) => existsSync(join(objects, d, 'notes')))!, 'notes')
  assert.ok(readdirSync(notes).length === 1, 'one file of notes: the path')
  for (const f of readdirSync(notes)) appendFileSync(join(notes, f), '{"head":"0123')
  const later = await workspace('e', head, cache)
  try {
    const reads = countTreeReads(later.store)
    assert.equal((await later.ws.blame(path)).lines.map((l) => l.commit), want(head))
    // The 10 commits above the older base (and the one where the note starts), then the note.
    assert.ok(reads.n >= 11 && reads.n <= 11 * 4 + 4, `from a later base: ${reads.n} tree reads`)
    reads.n = 0
    assert.equal((await later.ws.blame(path)).lines.map((l) => l.commit), want(head))
    assert.ok(reads.n <= 4, `again from the later base: ${reads.n} tree reads`)
  } finally {
    await later.close()
  }
})

test('a directory or a path not in the last commit: a usage error naming it', async () => {
  const { ws, close } = await workspace('b')
  try {
    for (const path of ['src/deep', 'no/such.txt']) {
      await ws.blame(path).then(
        () => assert.unreachable(`${path} was blamed`),
        (e: Error) => {
          assert.ok(e instanceof UsageError, String(e))
          assert.match(e.message, new RegExp(`"${path}" is not a file`))
        },
      )
    }
  } finally {
    await close()
  }
})

test('the CLI: scorpio blame -C STATE prints what git blame prints; --json is one document', async () => {
  const { stateDir, close } = await workspace('c')
  await close()
  const bin = join(process.cwd(), 'dist/scorpio.mjs')
  // Asynchronous: the git server answering the CLI runs in this process.
  const run = (args: string[]) =>
    new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args])
      let stdout = ''
      let stderr = ''
      child.stdout.on('data', (d) => (stdout += d))
      child.stderr.on('data', (d) => (stderr += d))
      child.on('close', (status) => resolve({ status, stdout, stderr }))
    })
  let r = await run(['blame', 'src/deep/dir/app.txt', '-C', stateDir])
  assert.is(r.status, 0, r.stderr)
  assert.is(r.stdout, g(['blame', '--first-parent', 'src/deep/dir/app.txt']))
  r = await run(['blame', 'notes.md', '--json', '-C', stateDir])
  assert.is(r.status, 0, r.stderr)
  const doc = JSON.parse(r.stdout)
  assert.is(doc.lines.length, g(['show', 'HEAD:notes.md']).split('\n').length - 1)
  assert.ok(doc.commits[doc.lines[0].commit].author.name)
  r = await run(['blame', 'src', '-C', stateDir])
  assert.is(r.status, 2)
  assert.is(r.stderr.trim().split('\n').length, 1)
})

test.run()
