import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { spawnSync } from 'node:child_process'
import { existsSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { openWorkspace } from '../../lib/workspace/workspace.ts'
import { edit, makeEnv, materialize, mirrorTree, mirrorTreeId, treeOfDir, upperWhiteout } from './_env.ts'

const STEPS = ['objects-written', 'journal-written', 'state-saved', 'cleanup-midway', 'upper-cleaned', 'none']

for (const step of STEPS) {
  test(`commit killed (SIGKILL) at "${step}": after recovery the workspace is in the old or the new state, never a mix`, async () => {
    const env = await makeEnv()
    try {
      edit.write(env, 'README.md', '# changed\n')
      edit.write(env, 'src/main.ts', 'changed\n')
      edit.write(env, 'new/file.txt', 'new\n')
      edit.remove(env, 'pkg/p2')
      edit.renameDir(env, 'pkg/p3', 'moved/p3')
      upperWhiteout(env, 'moved/p3/d0')
      rmSync(join(env.mirror, 'moved/p3/d0'), { recursive: true, force: true })
      edit.replaceDir(env, 'pkg/p4', { 'only.txt': 'only\n' })
      const before = (await env.ws.status()).changes
      const expectedFiles = mirrorTree(env)
      const expectedTree = mirrorTreeId(env)
      const child = spawnSync(process.execPath, ['--import', 'tsx', join('tests', 'workspace', '_commit_child.ts'), env.stateDir, env.repo.path, env.cache], {
        env: { ...process.env, SCORPIO_TEST_CRASH_AT: step },
      })
      if (step === 'none') assert.is(child.status, 0, child.stderr.toString())
      else assert.is(child.signal, 'SIGKILL', `the child must die at ${step}: ${child.stderr.toString()}`)
      const ws = await openWorkspace(env.stateDir, { store: env.store }) // recovers
      try {
        assert.is(existsSync(join(env.stateDir, 'journal.json')), false, 'journal resolved')
        const s = await ws.status()
        if (ws.state.base === env.head) {
          assert.ok(['objects-written', 'journal-written'].includes(step), `old state only before the commit point (${step})`)
          assert.equal(s.changes, before)
        } else {
          assert.ok(!['objects-written', 'journal-written'].includes(step), `new state only after the commit point (${step})`)
          assert.is((await env.store.readCommit(ws.state.base)).tree, expectedTree)
          assert.equal(s.changes, [])
        }
        env.ws.state.base = ws.state.base
        const view = await materialize(env, ws.state.base)
        assert.is(treeOfDir(view), expectedFiles, 'the files shown are those of before the crash')
        rmSync(view, { recursive: true, force: true })
      } finally {
        await ws.close()
      }
    } finally {
      await env.close()
    }
  })
}

test.run()
