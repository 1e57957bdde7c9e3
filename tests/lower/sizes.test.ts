// Sizes of a lower view through the real store: exact for every file, whether the tree is walked
// in `find` order, out of order or all at once, in a few requests for the whole commit (never one
// per directory), only the walk's neighbourhood for a walk of one subtree, and answered from memory
// by a second view of the same commit.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLower } from '../../lib/lower/mod.ts'
import type { LowerEntry, LowerView } from '../../lib/lower/mod.ts'
import { openLocalRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { git, makeBareRepo, type RepoFile, type TestRepo } from '../helpers/repos.ts'

let repo: TestRepo
let expected: Map<string, number>
const scratch = mkdtempSync(join(tmpdir(), 'scorpio-sizes-'))

test.before(async () => {
  // 700 directories of 3 files each, two levels deep: several parts of the bulk sizing.
  const files: RepoFile[] = []
  for (let d = 0; d < 700; d++) {
    for (let f = 0; f < 3; f++) files.push({ path: `a${d % 10}/b${d}/f${f}.txt`, content: `${d}-${f}\n`.repeat(1 + ((d * 3 + f) % 40)) })
  }
  repo = await makeBareRepo({ dir: scratch, files })
  expected = new Map()
  for (const line of git(repo.path, ['ls-tree', '-r', '-l', 'main']).split('\n').filter(Boolean)) {
    const tab = line.indexOf('\t')
    expected.set(line.slice(tab + 1), Number(line.slice(0, tab).trim().split(/\s+/)[3]))
  }
})

test.after(() => {
  repo?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

async function open(cache: string) {
  const store = await openStore({ remote: await openLocalRemote(repo.path), cacheDir: join(scratch, cache) })
  const lower = await openLower(store, repo.head)
  await store.loadCommit(repo.head)
  return { store, lower }
}

/** Every file as `find` meets it: depth first, entries in listing order; sizes asked per directory at once. */
async function walk(lower: LowerView, dir: LowerEntry = lower.root, path = '', out = new Map<string, number>()): Promise<Map<string, number>> {
  const list = await lower.list(dir)
  const files = [...list].filter(([, e]) => e.kind === 'file')
  const sizes = await Promise.all(files.map(([, e]) => lower.size(e)))
  files.forEach(([name], i) => out.set(path + name, sizes[i]))
  for (const [name, e] of list) if (e.kind === 'dir') await walk(lower, e, `${path}${name}/`, out)
  return out
}

test('a walk in find order: every size exact, a few requests for the whole commit', async () => {
  const { store, lower } = await open('c1')
  try {
    const before = store.stats.requests
    assert.equal(await walk(lower), expected)
    const used = store.stats.requests - before
    assert.ok(used <= 8, `${used} size requests for 700 directories`)
    // A second view of the same commit knows every size already.
    const again = await openLower(store, repo.head)
    const mid = store.stats.requests
    assert.equal(await walk(again), expected)
    assert.is(store.stats.requests, mid)
    for (const [, e] of await again.list((await again.lookupPath('a3/b693'))!)) assert.is(again.knownSize!(e), await again.size(e))
  } finally {
    await store.close()
  }
})

test('a walk of one subtree sizes its neighbourhood, not the whole commit', async () => {
  const { store, lower } = await open('c3')
  try {
    const a3 = (await lower.lookupPath('a3'))!
    const got = await walk(lower, a3, 'a3/')
    assert.is(got.size, 210)
    for (const [path, n] of got) assert.is(n, expected.get(path), path)
    // 210 files wanted of 2,100: the region is the walk's neighbourhood (~500 ids), in ≤ 2 requests.
    assert.ok(store.stats.sizesFromServer <= 600, `${store.stats.sizesFromServer} sizes asked for a 210-file walk`)
    assert.ok(store.stats.requests <= 2, `${store.stats.requests} requests`)
  } finally {
    await store.close()
  }
})

test('out of order (the last directory first, then everything at once): every size exact', async () => {
  const { store, lower } = await open('c2')
  try {
    const last = (await lower.lookupPath('a9/b699'))!
    for (const [name, e] of await lower.list(last)) assert.is(await lower.size(e), expected.get(`a9/b699/${name}`))
    const all: Promise<[string, number]>[] = []
    for (const path of expected.keys()) all.push(lower.lookupPath(path).then(async (e) => [path, await lower.size(e!)]))
    assert.equal(new Map(await Promise.all(all)), expected)
    assert.ok(store.stats.requests <= 10, `${store.stats.requests} requests`)
  } finally {
    await store.close()
  }
})

test.run()
