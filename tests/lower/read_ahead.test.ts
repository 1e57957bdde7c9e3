// Read-ahead decisions of a lower view over the real store and git http-backend:
// a walk through nearby directories brings their subtree ahead, reads in far-apart places of a
// large tree bring no more than a sibling each, files over the size limit come only when read, and
// the waste counter is what was fetched ahead and not read. The clock is a fake: no timing here.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openLower, readAheadCounters, type LowerEntry, type LowerView } from '../../lib/lower/mod.ts'
import { openRemote } from '../../lib/remote/mod.ts'
import { describeRequest, startGitServer, type GitServer } from '../helpers/git_server.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { SubtreeView } from '../../lib/antares/subtree_view.ts'
import { makeBareRepo, type RepoFile, type TestRepo } from '../helpers/repos.ts'

let repo: TestRepo
let server: GitServer
const scratch = mkdtempSync(join(tmpdir(), 'scorpio-readahead-'))

test.before(async () => {
  // Two packages of 4 x 5 directories with 6 small files each; one large file beside them.
  const files: RepoFile[] = []
  for (const p of ['p0', 'p1']) for (let a = 0; a < 4; a++) for (let b = 0; b < 5; b++) for (let f = 0; f < 6; f++) {
    files.push({ path: `${p}/a${a}/b${b}/f${f}.txt`, content: `${p} ${a} ${b} ${f}\n`.repeat(10 + f) })
  }
  files.push({ path: 'p0/a0/b0/huge.bin', content: 'x'.repeat(1_100_000) })
  repo = await makeBareRepo({ dir: scratch, files })
  server = await startGitServer(scratch)
})
test.after(async () => {
  await server?.close()
  repo?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

async function open(cache: string, walkObjects?: number, wasteAllowance?: number) {
  const lines: string[] = []
  const store = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: join(scratch, cache) })
  await store.loadCommit(repo.head)
  const lower = await openLower(store, repo.head, { readAhead: { log: (l) => lines.push(l), now: () => 0, walkObjects, wasteAllowance } })
  return { store, lower, lines }
}

/** The server's fetch requests since its last reset. */
const fetches = () => server.log.filter((r) => r.body.includes('command=fetch')).map(describeRequest)

/**
 * Two reads of the blob `oid` in step: the first one's request is held at the server until the
 * second has missed too (it then joins the first's fetch); both are read when this resolves.
 */
async function inStep(store: Store, oid: string, first: () => Promise<unknown>, second: () => Promise<unknown>): Promise<void> {
  let release!: () => void
  let arrived!: () => void
  const gate = new Promise<void>((r) => (release = r))
  const held = new Promise<void>((r) => (arrived = r))
  server.intercept = (r) => (r.method === 'POST' && r.body.includes('command=fetch') && r.body.includes(oid) ? (arrived(), { after: gate }) : undefined)
  try {
    const one = first()
    await held
    const misses = store.stats.serverHits
    const two = second()
    while (store.stats.serverHits === misses) await new Promise((r) => setTimeout(r, 1))
    release()
    await Promise.all([one, two])
  } finally {
    release()
    server.intercept = null
  }
}

async function entry(lower: LowerView, path: string): Promise<LowerEntry> {
  const e = await lower.lookupPath(path)
  if (!e) throw new Error(`no ${path}`)
  await lower.size(e) // as a stat before the read: sizes known
  return e
}

test('a walk through nearby directories brings their subtree: the rest of it is read without a request', async () => {
  const { store, lower, lines } = await open('walk')
  try {
    await lower.read(await entry(lower, 'p0/a1/b0/f0.txt'))
    await lower.read(await entry(lower, 'p0/a1/b1/f0.txt'))
    await lower.readAheadSettled()
    assert.ok(lines.some((l) => l.includes('trigger=walk-subtree subtree=/p0/a1 objects=')), lines.join('\n'))
    const before = store.stats.requests
    for (let b = 0; b < 5; b++) for (let f = 0; f < 6; f++) await lower.read(await entry(lower, `p0/a1/b${b}/f${f}.txt`))
    assert.is(store.stats.requests - before, 0)
    assert.not.ok(lines.some((l) => l.includes('subtree=/p1')), 'nothing of the other package')
  } finally {
    await store.close()
  }
})

test('far-apart reads in a tree larger than the budget: a sibling each, no subtree; waste counted', async () => {
  const { store, lower, lines } = await open('apart', 20)
  try {
    const c0 = readAheadCounters()
    let read = 0
    for (const p of ['p0/a0/b3/f2.txt', 'p1/a3/b1/f4.txt', 'p0/a2/b4/f3.txt', 'p1/a1/b2/f2.txt']) read += (await lower.read(await entry(lower, p))).length
    await lower.readAheadSettled()
    assert.not.ok(lines.some((l) => l.includes('walk-subtree')), lines.join('\n'))
    const c = readAheadCounters()
    const ahead = c.bytes - c0.bytes
    assert.ok(ahead > 0 && ahead <= read, `fetched ahead ${ahead} bytes for ${read} read`)
    assert.is(c.wasteBytes - c0.wasteBytes, ahead, 'none of it read: all waste')
    // Reading what came along moves it from waste to used.
    const next = await lower.read(await entry(lower, 'p0/a0/b3/f0.txt')) // came along with f2 (smaller than it)
    const after = readAheadCounters()
    assert.is(after.usedBytes - c.usedBytes, next.length)
  } finally {
    await store.close()
  }
})

test('a sparse walk (one file per directory, in tree order) fetches ahead at most twice what it reads', async () => {
  const { store, lower, lines } = await open('sparse', undefined, 0)
  try {
    const c0 = readAheadCounters()
    let read = 0
    for (const p of ['p0', 'p1']) for (let a = 0; a < 4; a++) for (let b = 0; b < 5; b++) {
      read += (await lower.read(await entry(lower, `${p}/a${a}/b${b}/f0.txt`))).length
      await lower.readAheadSettled()
    }
    const c = readAheadCounters()
    assert.ok(lines.some((l) => l.includes('walk-subtree')), 'it was taken for a walk: ' + lines.join('\n'))
    assert.ok(c.wasteBytes - c0.wasteBytes <= 2 * read, `fetched ahead and not read: ${c.wasteBytes - c0.wasteBytes} bytes for ${read} read`)
  } finally {
    await store.close()
  }
})

// Eight mount processes over one cache, each under a bound of its own, fetched 2.2x one process's
// bytes: a process's reads of what another fetched made room for guesses of its own.
test('the waste bound holds for the processes of a cache together: a second one starts where the first left it', async () => {
  const c0 = readAheadCounters()
  const first = await open('together', undefined, 0)
  const paths = (p: string) => Array.from({ length: 20 }, (_, k) => `${p}/a${Math.floor(k / 5)}/b${k % 5}/f0.txt`)
  let read = 0
  try {
    for (const path of paths('p0')) {
      read += (await first.lower.read(await entry(first.lower, path))).length
      await first.lower.readAheadSettled()
    }
  } finally {
    await first.store.close()
  }
  // The second store is another process's: its own memory, the same cache directory.
  const second = await open('together', undefined, 0)
  try {
    for (const path of paths('p0')) await second.lower.read(await entry(second.lower, path))
    for (const path of paths('p1')) {
      read += (await second.lower.read(await entry(second.lower, path))).length
      await second.lower.readAheadSettled()
    }
    const c = readAheadCounters()
    assert.ok(second.lines.some((l) => l.includes('walk-subtree')), 'the second one walked too: ' + second.lines.join('\n'))
    const waste = c.bytes - c0.bytes - (c.usedBytes - c0.usedBytes)
    assert.ok(waste <= 2 * read, `fetched ahead and not read by either: ${waste} bytes for ${read} distinct bytes read`)
    // gc gives the ledger's space back with the objects'.
    assert.ok(existsSync(join(second.store.db.dir, 'ahead')))
    await second.store.gc({ maxBytes: 1 << 30 })
    assert.not.ok(existsSync(join(second.store.db.dir, 'ahead')))
  } finally {
    await second.store.close()
  }
})

// Jobs (views of one process) or mounts of one cache reading the same files: each guessing for
// itself made the server answer twice the requests. The first to miss reads ahead; a miss that joins
// its fetch makes the other reader trail: it guesses nothing until eight misses of its own in a row.
test('a reader whose miss joins another reader\'s fetch guesses nothing until it leads eight misses in a row', async () => {
  const { store, lower: a } = await open('trail')
  const linesB: string[] = []
  const b = await openLower(store, repo.head, { readAhead: { log: (l) => linesB.push(l), now: () => 0 } })
  try {
    const first = await entry(a, 'p1/a0/b0/f5.txt')
    const same = await entry(b, 'p1/a0/b0/f5.txt')
    const own: LowerEntry[] = []
    for (let k = 0; k < 9; k++) own.push(await entry(b, `p1/a${1 + Math.floor(k / 5)}/b${k % 5}/f5.txt`))
    await inStep(store, first.oid!, () => a.read(first), () => b.read(same))
    await b.readAheadSettled()
    assert.equal(linesB, [], 'B asked nothing along with the read it joined')
    for (let k = 0; k < 8; k++) {
      server.reset()
      await b.read(own[k])
      await b.readAheadSettled()
      assert.equal(fetches(), ['fetch ids=1 filter blob:none'], `miss ${k + 1} of its own: only the file`)
    }
    assert.equal(linesB, [])
    await b.read(own[8])
    await b.readAheadSettled()
    assert.ok(linesB.length > 0, 'the ninth miss of its own brings files along again')
  } finally {
    await store.close()
  }
})

// Antares jobs read through one shared view: each reads ahead for itself, and trails the others.
test('jobs over one shared view: a job whose miss joins another job\'s fetch trails it', async () => {
  const { store, lower } = await open('jobs')
  const [jobA, jobB] = [await SubtreeView.open(lower, '/'), await SubtreeView.open(lower, '/')]
  try {
    const entryOf = async (job: LowerView, path: string) => {
      const e = (await job.lookupPath(path))!
      await job.size(e)
      return e
    }
    const first = await entryOf(jobA, 'p0/a2/b0/f5.txt')
    const own: LowerEntry[] = []
    for (let k = 0; k < 4; k++) own.push(await entryOf(jobB, `p0/a3/b${k}/f5.txt`))
    await inStep(store, first.oid!, () => jobA.read(first), () => jobB.read(first))
    for (const e of own) {
      server.reset()
      await jobB.read(e)
      await lower.readAheadSettled()
      assert.equal(fetches(), ['fetch ids=1 filter blob:none'])
    }
  } finally {
    await store.close()
  }
})

// A file read twice at once by one reader (two opens of it): the second read asked for files along
// with it again, and started a walk.
test('a second read of a file already on its way, by the same reader, asks nothing along and starts no walk', async () => {
  const { store, lower, lines } = await open('join')
  try {
    const f = await entry(lower, 'p1/a3/b4/f5.txt')
    server.reset()
    await inStep(store, f.oid!, () => lower.read(f), () => lower.read(f))
    await lower.readAheadSettled()
    assert.is(fetches().length, 1, 'one request: the first read\'s')
    assert.not.ok(lines.some((l) => l.includes('walk')), lines.join('\n'))
  } finally {
    await store.close()
  }
})

test('a file over the size limit comes only when read', async () => {
  const { store, lower, lines } = await open('huge')
  try {
    await entry(lower, 'p0/a0/b0/huge.bin')
    await lower.read(await entry(lower, 'p0/a0/b0/f0.txt'))
    await lower.read(await entry(lower, 'p0/a0/b1/f0.txt'))
    await lower.readAheadSettled()
    assert.ok(lines.some((l) => l.includes('walk-subtree subtree=/p0/a0')), lines.join('\n'))
    const huge = (await lower.lookupPath('p0/a0/b0/huge.bin'))!
    assert.is(await lower.isLocal(huge), false)
    assert.is((await lower.read(huge)).length, 1_100_000)
  } finally {
    await store.close()
  }
})

test.run()
