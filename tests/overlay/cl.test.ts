// The CL layer: read priority upper > CL > lower, with Mega's actions (new, modified, deleted,
// renamed = whiteout old_path + add path) and with a local directory as the CL.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { applyLocalCl, applyMegaCl, openLower } from '../../lib/lower/mod.ts'
import { Overlay } from '../../lib/overlay/mod.ts'
import { MemStore } from './mem_store.ts'
import { FILES, snapshotOverlay, snapshotPlain, tmp, writeFileOv, writePlain } from './harness.ts'
import { hashObject } from '../../lib/git/sha1.ts'

test('Mega CL: new, modified, deleted, renamed over the lower; upper wins over the CL', async () => {
  const store = new MemStore()
  const commit = store.commit(FILES)
  const blob = async (text: string) => store.writeObject('blob', Buffer.from(text))
  const list = [
    { path: 'src/a.ts', sha: 'sha1:' + (await blob('cl a\n')), action: 'modified' as const },
    { path: 'new/dir/n.ts', sha: await blob('cl new\n'), action: 'new' as const },
    { path: 'docs/guide.md', action: 'deleted' as const },
    { path: 'bin/renamed.sh', old_path: 'bin/run.sh', sha: hashObject('blob', Buffer.from('#!/bin/sh\necho hi\n')), action: 'renamed' as const },
  ]
  const lower = await applyMegaCl(await openLower(store, commit), list)
  const upperDir = tmp('scorpio-cl-upper-')
  const plain = tmp('scorpio-cl-plain-')
  try {
    const ov = new Overlay({ upperDir, lower })
    await ov.init()
    await writePlain(plain, FILES)
    await fsp.writeFile(join(plain, 'src/a.ts'), 'cl a\n')
    await fsp.mkdir(join(plain, 'new/dir'), { recursive: true })
    await fsp.writeFile(join(plain, 'new/dir/n.ts'), 'cl new\n')
    await fsp.rm(join(plain, 'docs/guide.md'))
    await fsp.rename(join(plain, 'bin/run.sh'), join(plain, 'bin/renamed.sh'))
    assert.equal(await snapshotOverlay(ov), await snapshotPlain(plain))
    // upper > CL
    await writeFileOv(ov, 'src/a.ts', 'upper a\n')
    await fsp.writeFile(join(plain, 'src/a.ts'), 'upper a\n')
    await ov.unlink('new/dir/n.ts')
    await fsp.rm(join(plain, 'new/dir/n.ts'))
    assert.equal(await snapshotOverlay(ov), await snapshotPlain(plain))
  } finally {
    await fsp.rm(upperDir, { recursive: true, force: true })
    await fsp.rm(plain, { recursive: true, force: true })
  }
})

test('a local directory as the CL: files replace, dirs merge, whiteouts delete', async () => {
  const store = new MemStore()
  const commit = store.commit(FILES)
  const cl = tmp('scorpio-cl-dir-')
  const upperDir = tmp('scorpio-cl-upper-')
  const plain = tmp('scorpio-cl-plain-')
  try {
    await fsp.mkdir(join(cl, 'src/lib'), { recursive: true })
    await fsp.writeFile(join(cl, 'src/lib/deep.ts'), 'from cl\n')
    await fsp.writeFile(join(cl, 'src/.wh.b.ts'), '')
    await fsp.mkdir(join(cl, 'extra'))
    const ov = new Overlay({ upperDir, lower: await applyLocalCl(await openLower(store, commit), cl) })
    await ov.init()
    await writePlain(plain, FILES)
    await fsp.writeFile(join(plain, 'src/lib/deep.ts'), 'from cl\n')
    await fsp.rm(join(plain, 'src/b.ts'))
    await fsp.mkdir(join(plain, 'extra'))
    assert.equal(await snapshotOverlay(ov), await snapshotPlain(plain))
  } finally {
    for (const d of [cl, upperDir, plain]) await fsp.rm(d, { recursive: true, force: true })
  }
})

test.run()
