// Revisions as users type them (`checkout main~2`, `mount --rev 3f2a9c1`), resolved against a real
// git http-backend: ref names, HEAD, full and abbreviated ids, ~N, ^ and ^N.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore, parseRevision, resolveBase, resolveRevision, type Store } from '../../lib/store/mod.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { commitFiles, git, makeBareRepo, sampleFiles, type TestRepo } from '../helpers/repos.ts'
import { expectError } from '../helpers/store_checks.ts'

let repo: TestRepo
let server: GitServer
let url: string
const caches: string[] = []
// H ← a ← merge (main), H ← side (side); v1: an annotated tag of a.
let H: string, a: string, side: string, merge: string

async function freshStore(): Promise<Store> {
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-rev-'))
  caches.push(cache)
  return openStore({ remote: await openRemote(url), cacheDir: cache })
}

test.before(async () => {
  repo = await makeBareRepo({ files: sampleFiles() })
  H = repo.head
  a = await commitFiles(repo.path, [{ path: 'a.txt', content: 'a\n' }], { parent: H })
  side = await commitFiles(repo.path, [{ path: 's.txt', content: 's\n' }], { parent: H, branch: 'side' })
  const tree = git(repo.path, ['rev-parse', `${a}^{tree}`]).trim()
  merge = execFileSync('git', ['commit-tree', tree, '-p', a, '-p', side, '-m', 'merge'], {
    cwd: repo.path,
    env: { ...process.env, GIT_AUTHOR_NAME: 'T', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e', GIT_AUTHOR_DATE: '1700000000 +0000', GIT_COMMITTER_DATE: '1700000000 +0000' },
  }).toString().trim()
  git(repo.path, ['update-ref', 'refs/heads/main', merge])
  execFileSync('git', ['tag', '-a', 'v1', a, '-m', 'v1'], { cwd: repo.path, env: { ...process.env, GIT_COMMITTER_NAME: 'T', GIT_COMMITTER_EMAIL: 't@e' } })
  server = await startGitServer(dirname(repo.path))
  url = server.url('repo.git')
})
test.after(async () => {
  await server?.close()
  repo?.cleanup()
  for (const c of caches) rmSync(c, { recursive: true, force: true })
})

test('parseRevision: the name and the parent steps', () => {
  assert.equal(parseRevision('main'), { name: 'main', parents: [] })
  assert.equal(parseRevision('main~3'), { name: 'main', parents: [1, 1, 1] })
  assert.equal(parseRevision('HEAD^'), { name: 'HEAD', parents: [1] })
  assert.equal(parseRevision('abc1234^2~1^0'), { name: 'abc1234', parents: [2, 1] })
  assert.equal(parseRevision('refs/heads/x~'), { name: 'refs/heads/x', parents: [1] })
  assert.throws(() => parseRevision('~1'), /names no commit/)
})

test('names, HEAD, ~N, ^ and ^N over a merge; an annotated tag is its commit', async () => {
  const store = await freshStore()
  try {
    assert.is(await resolveRevision(store, 'main'), merge)
    assert.is(await resolveRevision(store, 'HEAD'), merge)
    assert.is(await resolveRevision(store, 'main~1'), a)
    assert.is(await resolveRevision(store, 'main^'), a)
    assert.is(await resolveRevision(store, 'main^2'), side)
    assert.is(await resolveRevision(store, 'main~2'), H)
    assert.is(await resolveRevision(store, 'main^2~1'), H)
    assert.is(await resolveRevision(store, 'refs/heads/side^'), H)
    assert.is(await resolveRevision(store, 'v1'), a)
    assert.is(await resolveRevision(store, 'v1~1'), H)
    assert.is(await resolveRevision(store, `${merge}^2`), side)
    // inside a workspace HEAD is its base commit, not the remote's
    assert.is(await resolveRevision(store, 'HEAD~1', { head: a }), H)
    assert.is(await resolveRevision(store, '@^', { head: side }), H)
  } finally {
    await store.close()
  }
})

test('abbreviated ids: ref tips and cached commits; unknown and past-the-history ones are clear errors', async () => {
  const store = await freshStore()
  try {
    // H is no ref's tip and this cache has never seen it
    await expectError(resolveRevision(store, H.slice(0, 8)), /No commit starts with "[0-9a-f]{8}" among the remote's branches and tags or in the cache/)
    assert.is(await resolveRevision(store, side.slice(0, 7)), side) // a branch tip
    // walking the history reads (and caches) each commit it passes, H last
    await expectError(resolveRevision(store, 'main~3'), /"main~3" goes past the history: commit [0-9a-f]{12} has no parent \(it is a root commit\)/)
    assert.is(await resolveRevision(store, H.slice(0, 8)), H)
    assert.is(await resolveRevision(store, `${a.slice(0, 5)}~1`), H)
    await expectError(resolveRevision(store, 'main^3'), /has 2 parent\(s\), not 3/)
    await expectError(resolveRevision(store, 'nosuch'), /Ref "nosuch" does not exist .*branches there: main, side/)
  } finally {
    await store.close()
  }
})

test('an abbreviated id two commits share is refused as ambiguous', async () => {
  // Fixed dates make these ids the same on every run; among 800 commits two share 4 hex digits.
  const lines: string[] = []
  for (let i = 0; i < 800; i++) {
    const msg = `c${i}`
    lines.push(`commit refs/heads/many\nmark :${i + 1}\ncommitter T <t@e> ${1700000000 + i} +0000\ndata ${msg.length}\n${msg}\n${i ? `from :${i}\n` : ''}`)
  }
  execFileSync('git', ['fast-import', '--quiet'], { cwd: repo.path, input: lines.join('') })
  const ids = git(repo.path, ['rev-list', 'many']).trim().split('\n')
  const seen = new Map<string, string>()
  let pair: [string, string] | undefined
  for (const id of ids) {
    const other = seen.get(id.slice(0, 4))
    if (other) { pair = [other, id]; break }
    seen.set(id.slice(0, 4), id)
  }
  assert.ok(pair, 'two of the commits share their first 4 hex digits')
  git(repo.path, ['update-ref', 'refs/heads/twin1', pair![0]])
  git(repo.path, ['update-ref', 'refs/heads/twin2', pair![1]])
  const store = await freshStore()
  try {
    await expectError(resolveRevision(store, pair![0].slice(0, 4)), /The abbreviated id "[0-9a-f]{4}" is ambiguous \(.*, .*\); give more digits/)
    assert.is(await resolveRevision(store, pair![0]), pair![0])
  } finally {
    await store.close()
    for (const r of ['many', 'twin1', 'twin2']) git(repo.path, ['update-ref', '-d', `refs/heads/${r}`])
  }
})

test('resolveBase: the commit and the branch a new workspace pushes to', async () => {
  const store = await freshStore()
  try {
    const refs = await (await openRemote(url)).listRefs()
    assert.equal(await resolveBase(store, refs), { base: merge, ref: 'main' })
    assert.equal(await resolveBase(store, refs, 'side'), { base: side, ref: 'side' })
    assert.equal(await resolveBase(store, refs, 'main~1'), { base: a, ref: 'main' })
    assert.equal(await resolveBase(store, refs, side.slice(0, 9)), { base: side, ref: 'side' })
    assert.equal(await resolveBase(store, refs, merge), { base: merge, ref: 'main' })
    assert.equal(await resolveBase(store, refs, 'v1'), { base: a, ref: 'v1' })
  } finally {
    await store.close()
  }
})

test.run()
