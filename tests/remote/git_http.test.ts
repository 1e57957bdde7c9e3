import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { dirname } from 'node:path'
import { openRemote } from '../../lib/remote/mod.ts'
import { startGitServer } from '../helpers/git_server.ts'
import { makeBareRepo, sampleFiles } from '../helpers/repos.ts'
import { storeScenario } from '../store/_scenario.ts'

test('git smart HTTP v2: tree = ls-tree, blobs, sizes, push, non-fast-forward, gc', async () => {
  const repo = await makeBareRepo({ files: sampleFiles(60) })
  const server = await startGitServer(dirname(repo.path))
  try {
    await storeScenario(repo, () => openRemote(server.url('repo.git')))
    assert.ok(server.log.some((r) => r.path.endsWith('git-receive-pack')))
  } finally {
    await server.close()
    repo.cleanup()
  }
})

test.run()
