// Sizes the server told one store are read by another store of the same cache (another process
// in real use) instead of asking again: counted at a real git http-backend. A torn or corrupt
// file never gives a wrong size, and gc removes the file.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { RECORD, SharedSizes } from '../../lib/store/shared_sizes.ts'
import { startGitServer } from '../helpers/git_server.ts'
import { git, lsTree, makeBareRepo, sampleFiles } from '../helpers/repos.ts'

const child = join(dirname(fileURLToPath(import.meta.url)), '_sizes_child.ts')

function run(args: string[]): Promise<{ requests: number; sizes: Record<string, number> }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('close', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child failed: ${err}`))))
  })
}

test('a second process learns blob sizes from the cache, not the server', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(120) })
  const server = await startGitServer(dirname(repo.path))
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    const blobs = lsTree(repo.path, repo.head).filter((r) => r.type === 'blob')
    const oids = [...new Set(blobs.map((b) => b.oid))]
    const first = await run([server.url('repo.git'), cache, ...oids])
    assert.is(first.requests, 1)
    server.reset()
    const second = await run([server.url('repo.git'), cache, ...oids])
    assert.is(second.requests, 0)
    // Only the store's own session setup may reach the server; no size query.
    assert.ok(server.bytesSent < 1024, `server sent ${server.bytesSent} bytes`)
    for (const b of blobs) assert.is(second.sizes[b.oid], Number(git(repo.path, ['cat-file', '-s', b.oid])))
    // gc gives the space back.
    const store = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
    assert.ok(existsSync(join(store.db.dir, 'sizes')))
    await store.gc({ maxBytes: 1 << 30 })
    assert.not.ok(existsSync(join(store.db.dir, 'sizes')))
    await store.close()
  } finally {
    await server.close()
    rmSync(cache, { recursive: true, force: true })
    repo.cleanup()
  }
})

test('a torn or corrupt record is never read as a size; the file starts afresh', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-sizes-'))
  try {
    const a = 'a'.repeat(40)
    const b = 'b'.repeat(40)
    const w = new SharedSizes(dir)
    await w.add([[a, 7], [b, 2 ** 32 + 1]]) // too big for the file: left out
    const seen = new Map<string, number>()
    await new SharedSizes(dir).refresh((o, s) => seen.set(o, s))
    assert.equal([...seen], [[a, 7]])
    // A write cut short: the half record is not read, and the next writer starts a new file.
    appendFileSync(w.path, Buffer.alloc(RECORD / 2, 1))
    const r = new SharedSizes(dir)
    seen.clear()
    await r.refresh((o, s) => seen.set(o, s))
    assert.equal([...seen], [[a, 7]])
    await w.add([[b, 9]])
    assert.is(readFileSync(w.path).length, 2 * RECORD)
    seen.clear()
    await r.refresh((o, s) => seen.set(o, s))
    assert.equal([...seen], [[b, 9]])
    // A flipped byte in the size: the record fails its check, nothing from it is believed.
    const bytes = readFileSync(w.path)
    bytes[RECORD + 20] ^= 1
    writeFileSync(w.path, bytes)
    seen.clear()
    await new SharedSizes(dir).refresh((o, s) => seen.set(o, s))
    assert.equal([...seen], [])
    assert.not.ok(existsSync(w.path))
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test.run()
