// A workspace with a CL layer (a local directory): the CL is part of what lies beneath the upper.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { saveWorkspaceState } from '../../lib/workspace/state.ts'
import { AUTHOR, edit, makeEnv, mirrorTreeId } from './_env.ts'

test('status, diff and commit include the CL changes beneath the upper edits', async () => {
  const env = await makeEnv()
  try {
    const cl = join(env.dir, 'cl')
    mkdirSync(join(cl, 'src'), { recursive: true })
    writeFileSync(join(cl, 'README.md'), '# from the CL\n')
    writeFileSync(join(cl, 'src/cl-new.ts'), 'export const cl = 1\n')
    writeFileSync(join(env.mirror, 'README.md'), '# from the CL\n')
    writeFileSync(join(env.mirror, 'src/cl-new.ts'), 'export const cl = 1\n')
    await saveWorkspaceState(env.stateDir, { ...env.ws.state, cl })
    edit.write(env, 'src/cl-new.ts', 'export const cl = 2 // edited over the CL\n')
    edit.write(env, 'upper-only.txt', 'u\n')
    const s = await env.ws.status()
    assert.equal(s.changes, [
      { path: 'README.md', status: 'modified' },
      { path: 'src/cl-new.ts', status: 'added' },
      { path: 'upper-only.txt', status: 'added' },
    ])
    assert.match(await env.ws.diff(['README.md']), /^\+# from the CL$/m)
    const r = await env.ws.commit({ message: 'with the CL', author: AUTHOR })
    assert.is((await env.store.readCommit(r.commit)).tree, mirrorTreeId(env))
    assert.equal((await env.ws.status()).changes, [], 'clean afterwards, CL still applied')
    const err = await env.ws.checkout(env.head).then(() => undefined, (e: Error) => e)
    assert.match(String(err?.message), /CL layer/)
  } finally {
    await env.close()
  }
})

test.run()
