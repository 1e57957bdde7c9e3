// The staged tree fetch against git http-backend: the commit and its root in one `tree:1` request
// (what a mount's first `ls` needs), the next level by `tree:0`, then the trees below in parallel
// requests streamed into one pack. Every tree arrives, equal to git's, also from a server that
// caps tree filters at depth 1.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { startGitServer } from '../helpers/git_server.ts'
import { git, lsTree, makeBareRepo, type RepoFile } from '../helpers/repos.ts'

/** 80 packages under `pkgs/` (a frontier of 80 trees: the parallel split), each two levels deep. */
function manyDirs(): RepoFile[] {
  const files: RepoFile[] = [{ path: 'README.md', content: 'top\n' }]
  for (let i = 0; i < 80; i++) {
    files.push({ path: `pkgs/p${i}/src/main${i}.ts`, content: `export const n = ${i}\n` })
    files.push({ path: `pkgs/p${i}/docs/notes.md`, content: `notes ${i % 7}\n` })
  }
  return files
}

async function loadAndCheck(config: [string, string][]): Promise<string[]> {
  const repo = await makeBareRepo({ files: manyDirs() })
  for (const [k, v] of config) git(repo.path, ['config', k, v])
  const server = await startGitServer(dirname(repo.path))
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    const store = await openStore({ remote: await openRemote(server.url('repo.git')), cacheDir: cache })
    server.reset()
    const info = await store.loadCommit(repo.head)
    const fetches = server.log.filter((r) => r.body.includes('command=fetch')).map((r) => r.body.toString('latin1'))
    const requests = store.stats.requests
    const trees = lsTree(repo.path, repo.head).filter((r) => r.type === 'tree')
    assert.ok(trees.length > 240)
    for (const t of [{ oid: info.tree }, ...trees]) {
      const want = git(repo.path, ['ls-tree', t.oid]).trim().split('\n').map((l) => l.split('\t')[1])
      assert.equal((await store.readTree(t.oid)).map((e) => e.name), want, `tree ${t.oid}`)
    }
    assert.is(store.stats.requests, requests, 'every tree was in the fetch')
    await store.close()
    return fetches
  } finally {
    await server.close()
    repo.cleanup()
    rmSync(cache, { recursive: true, force: true })
  }
}

for (const [name, config] of [['', []], [' (a server capping tree filters at depth 1)', [['uploadpackfilter.tree.maxDepth', '1']]]] as [string, [string, string][]][]) {
  test(`the root in one tree:1 request, the next level by tree:0, the 80 subtrees below in three parallel ones${name}`, async () => {
    const fetches = await loadAndCheck(config)
    assert.is(fetches.filter((b) => b.includes('filter tree:2')).length, 0)
    assert.is(fetches.filter((b) => b.includes('filter tree:1')).length, 1)
    assert.is(fetches.filter((b) => b.includes('filter tree:0')).length, 1)
    assert.is(fetches.filter((b) => b.includes('filter blob:none')).length, 3)
    assert.is(fetches.length, 5)
  })
}

test.run()
