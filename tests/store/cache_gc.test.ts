// `scorpio gc --max-size SIZE`: the whole cache (every remote) trimmed least recently used first,
// pinned objects kept, and what was removed fetched again from a real git http-backend when read.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, rmSync, statSync, utimesSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { parseSize } from '../../lib/store/cache_gc.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { lsTree, makeBareRepo, sampleFiles, type TestRepo } from '../helpers/repos.ts'

const CLI = resolve('dist/scorpio.mjs')
const root = mkdtempSync(join(tmpdir(), 'scorpio-gc-'))
const cache = join(root, 'cache')
let server: GitServer
let a: TestRepo
let b: TestRepo

function gc(args: string[]) {
  const r = spawnSync(process.execPath, [CLI, 'gc', ...args], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, XDG_CACHE_HOME: join(root, 'xdg') } })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** Every file under `dir` (recursively) with its size. */
function files(dir: string): string[] {
  const out: string[] = []
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath ?? (e as unknown as { path: string }).path, e.name))
  return out
}

async function fill(repo: TestRepo): Promise<{ store: Store; blobs: { oid: string; path: string }[] }> {
  const store = await openStore({ remote: await openRemote(server.url(repo.path.split('/').pop()!)), cacheDir: cache })
  await store.loadCommit(repo.head)
  const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').slice(0, 12)
  for (const x of blobs) await store.readBlob(x.oid)
  return { store, blobs }
}

test.before(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-gc-repos-'))
  a = await makeBareRepo({ dir, name: 'a.git', files: sampleFiles(30) })
  b = await makeBareRepo({ dir, name: 'b.git', files: sampleFiles(31) })
  server = await startGitServer(dir)
})
test.after(async () => {
  await server?.close()
  a?.cleanup()
  b?.cleanup()
  rmSync(dirname(a.path), { recursive: true, force: true })
  rmSync(root, { recursive: true, force: true })
})

test('parseSize: bytes, K/M/G/T with or without B or iB; anything else undefined', () => {
  assert.is(parseSize('2048'), 2048)
  assert.is(parseSize('10G'), 10 * 1024 ** 3)
  assert.is(parseSize('1.5MiB'), 1.5 * 1024 ** 2)
  assert.is(parseSize('512 kb'), 512 * 1024)
  assert.is(parseSize('0'), 0)
  for (const bad of ['', 'ten', '-1', '5X', '1e3']) assert.is(parseSize(bad), undefined, bad)
})

test('a bad --max-size is one line and exit 2; no --max-size is a usage error', () => {
  const r = gc(['--max-size', 'lots', '--cache', cache])
  assert.is(r.status, 2)
  assert.is(r.stderr, 'scorpio: --max-size "lots" is not a size; give bytes or a number with K, M, G or T, e.g. 10G\n')
  assert.is(gc(['--cache', cache]).status, 2)
  const none = gc(['--max-size', '1G', '--cache', join(root, 'nowhere')])
  assert.is(none.status, 0)
  assert.match(none.stderr, /^scorpio: no object cache in ".*nowhere" \(nothing to trim\)/)
})

test('least recently used first across remotes; pinned objects stay; removed ones come back on read', async () => {
  const fa = await fill(a)
  const fb = await fill(b)
  const ws = await fa.store.writeObject('blob', new TextEncoder().encode('committed, not pushed\n'))
  await fa.store.pin('ws1', [ws])
  await fa.store.close()
  await fb.store.close()
  const dbA = join(cache, 'objects', readdirSync(join(cache, 'objects')).find((n) => n.endsWith('a'))!)
  const dbB = join(cache, 'objects', readdirSync(join(cache, 'objects')).find((n) => n.endsWith('b'))!)
  // a's objects were last used a day ago, b's now
  const dayAgo = new Date(Date.now() - 86400_000)
  for (const f of files(dbA)) utimesSync(f, dayAgo, dayAgo)
  // The objects' bytes (loose files and packs), what --max-size bounds; not the cache's other files
  // (pins, loaded markers, the broker's token).
  const isObjects = (f: string) => /\/[0-9a-f]{2}\/[0-9a-f]{38}$/.test(f) || /\/packs\/[0-9a-f]{40}\.(pack|idx)$/.test(f)
  const size = (dir: string) => files(dir).filter(isObjects).reduce((n, f) => n + statSync(f).size, 0)
  const sizeB = size(dbB)

  const roomy = gc(['--max-size', '1G', '--cache', cache, '--json'])
  assert.is(roomy.status, 0, roomy.stderr)
  const r0 = JSON.parse(roomy.stdout)
  assert.is(r0.removedObjects, 0)
  assert.is(r0.remotes, 2)

  // room for b's objects and a's pinned one: a's others go, b's stay
  const pinnedBytes = statSync(join(dbA, ws.slice(0, 2), ws.slice(2))).size
  const tight = gc(['--max-size', String(sizeB + pinnedBytes), '--cache', cache, '--json'])
  assert.is(tight.status, 0, tight.stderr)
  const r1 = JSON.parse(tight.stdout)
  assert.ok(r1.removedObjects > 0, tight.stdout)
  assert.is(size(dbB), sizeB, 'the recently used remote kept everything')
  const leftA = files(dbA).filter((f) => /\/[0-9a-f]{2}\/[0-9a-f]{38}$/.test(f) || f.endsWith('.pack'))
  assert.equal(leftA.map((f) => f.split('/').slice(-2).join('')), [ws], 'only the pinned object is left of a')

  // what went is fetched again, byte for byte; the pinned object is read locally
  const store = await openStore({ remote: await openRemote(server.url('a.git')), cacheDir: cache })
  try {
    const before = server.requests
    assert.is(new TextDecoder().decode(await store.readBlob(ws)), 'committed, not pushed\n')
    assert.is(server.requests, before, 'the pinned object came from the cache')
    for (const x of fa.blobs) {
      const want = execFileSync('git', ['--git-dir', a.path, 'cat-file', 'blob', x.oid])
      assert.ok(Buffer.from(await store.readBlob(x.oid)).equals(want), x.path)
    }
    assert.ok(server.requests > before, 'removed blobs were fetched again')
  } finally {
    await store.close()
  }

  // text output
  const text = gc(['--max-size', '0', '--cache', cache])
  assert.is(text.status, 0, text.stderr)
  assert.match(text.stdout, /^removed \d+ object file\(s\), [\d.]+ MB; kept 1, [\d.]+ MB \(2 remote\(s\) in .*cache\)\n$/)
})

test.run()
