import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { startGitServer } from '../helpers/git_server.ts'
import { lsTree, makeBareRepo, sampleFiles } from '../helpers/repos.ts'

const child = join(dirname(fileURLToPath(import.meta.url)), '_fetch_child.ts')

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    p.stdout.on('data', (d) => (out += d))
    p.stderr.on('data', (d) => (err += d))
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`child failed: ${err}`))))
  })
}

test('two processes fetch the same objects into one cache', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(150) })
  const server = await startGitServer(dirname(repo.path))
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    const oids = [...new Set(lsTree(repo.path, repo.head).filter((r) => r.type === 'blob').map((r) => r.oid))]
    const [a, b] = await Promise.all([run([server.url('repo.git'), cache, ...oids]), run([server.url('repo.git'), cache, ...oids])])
    assert.ok(JSON.parse(a).requests >= 1 || JSON.parse(b).requests >= 1)
    // Afterwards every object is on disk and intact: a third store needs no request.
    server.reset()
    const store = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
    for (const o of oids) await store.readBlob(o)
    assert.is(store.stats.requests, 0)
    assert.is(server.requests, 0)
  } finally {
    await server.close()
    rmSync(cache, { recursive: true, force: true })
    repo.cleanup()
  }
})

test.run()
