// Inode numbers survive a rename even when the kernel forgets the entry in between (it may drop any
// unused inode at any time, and a heavily loaded machine does): looked up again at its new path, an
// entry gets the id it had. Driven at the RawFileSystem boundary, because no test can make the
// kernel send a FORGET when it wants one; the overlay and its upper dir are real.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { constants as C, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { RequestContext } from '../../lib/fuse/mod.ts'
import { openLower } from '../../lib/lower/mod.ts'
import { Overlay } from '../../lib/overlay/mod.ts'
import { openLocalRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { createVfs } from '../../lib/vfs/mod.ts'
import { makeBareRepo, sampleFiles } from '../helpers/repos.ts'

const ctx = { unique: 1n, opcode: 0, uid: 0, gid: 0, pid: 1 } as unknown as RequestContext

test('a renamed entry keeps its inode number after the kernel forgot it', async () => {
  const scratch = mkdtempSync(join(tmpdir(), 'scorpio-moved-'))
  const repo = await makeBareRepo({ dir: scratch, files: sampleFiles() })
  const store = await openStore({ remote: await openLocalRemote(repo.path), cacheDir: join(scratch, 'cache') })
  try {
    const overlay = new Overlay({ upperDir: join(scratch, 'upper'), lower: await openLower(store, repo.head), log: () => {} })
    await overlay.init()
    const fs = createVfs({ overlay, log: () => {} }).fs
    const made = await fs.create!(ctx, { parent: 1, name: 'a.txt', mode: C.S_IFREG | 0o644, umask: 0, flags: C.O_WRONLY, openFlags: 0 })
    await fs.release!(ctx, { ino: made.entry.nodeid, fh: made.open.fh!, flags: 0, releaseFlags: 0, lockOwner: 0n })
    const ino = made.entry.nodeid
    const dir = await fs.mkdir!(ctx, { parent: 1, name: 'd', mode: 0o755, umask: 0 })
    await fs.rename!(ctx, { parent: 1, name: 'a.txt', newParent: dir.nodeid, newName: 'b.txt', flags: 0 })
    fs.forget!(ctx, { ino, nlookup: 1 })
    const again = await fs.lookup!(ctx, { parent: dir.nodeid, name: 'b.txt' })
    assert.is(again.nodeid, ino, 'the same id at the new path')
    assert.is(again.attr.ino, ino)
    // a lower file renamed (made a metacopy) keeps its id too
    const lower = await fs.lookup!(ctx, { parent: 1, name: 'README.md' })
    await fs.rename!(ctx, { parent: 1, name: 'README.md', newParent: 1, newName: 'READ.md', flags: 0 })
    fs.forget!(ctx, { ino: lower.nodeid, nlookup: 1 })
    assert.is((await fs.lookup!(ctx, { parent: 1, name: 'READ.md' })).nodeid, lower.nodeid)
    // a new file at the old path while the old id is taken gets another id
    const fresh = await fs.create!(ctx, { parent: 1, name: 'README.md', mode: C.S_IFREG | 0o644, umask: 0, flags: C.O_WRONLY, openFlags: 0 })
    assert.is.not(fresh.entry.nodeid, lower.nodeid)
  } finally {
    await store.close()
    repo.cleanup()
    rmSync(scratch, { recursive: true, force: true })
  }
})

test.run()
