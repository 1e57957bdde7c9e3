// Every overlay case against a plain directory given the same operations: the snapshots must match,
// before and after a "remount" (a new Overlay over the same upper dir).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp, constants as C } from 'node:fs'
import { join } from 'node:path'
import { openLower } from '../../lib/lower/mod.ts'
import { Overlay, RENAME_EXCHANGE, RENAME_NOREPLACE } from '../../lib/overlay/mod.ts'
import { setup, snapshotOverlay, snapshotPlain, writeFileOv } from './harness.ts'

type Env = Awaited<ReturnType<typeof setup>>

async function same(env: Env, label: string) {
  const want = await snapshotPlain(env.plain)
  assert.equal(await snapshotOverlay(env.ov), want, label)
  const again = new Overlay({ upperDir: env.upperDir, lower: await openLower(env.store, env.commit) })
  await again.init()
  assert.equal(await snapshotOverlay(again), want, `${label} (after remount)`)
}

const cases: Record<string, (e: Env, P: (p: string) => string) => Promise<void>> = {
  'echo > new file': async ({ ov }, P) => {
    await fsp.writeFile(P('src/new.ts'), 'new\n')
    await writeFileOv(ov, 'src/new.ts', 'new\n')
  },
  'overwrite a lower file': async ({ ov }, P) => {
    await fsp.writeFile(P('src/a.ts'), 'changed\n')
    await writeFileOv(ov, 'src/a.ts', 'changed\n')
  },
  'append to a lower file': async ({ ov }, P) => {
    await fsp.appendFile(P('docs/guide.md'), 'more\n')
    await writeFileOv(ov, 'docs/guide.md', 'more\n', C.O_WRONLY | C.O_APPEND)
  },
  'truncate a lower file': async ({ ov }, P) => {
    await fsp.truncate(P('src/b.ts'), 3)
    await ov.setattr('src/b.ts', { size: 3 })
  },
  'chmod a lower file and dir': async ({ ov }, P) => {
    await fsp.chmod(P('src/a.ts'), 0o600)
    await ov.setattr('src/a.ts', { mode: 0o600 })
    await fsp.chmod(P('docs'), 0o700)
    await ov.setattr('docs', { mode: 0o700 })
  },
  'rm a lower file, then recreate it': async ({ ov }, P) => {
    await fsp.rm(P('README.md'))
    await ov.unlink('README.md')
    await fsp.rm(P('src/a.ts'))
    await ov.unlink('src/a.ts')
    await fsp.writeFile(P('src/a.ts'), 'again\n')
    await writeFileOv(ov, 'src/a.ts', 'again\n')
  },
  'rm -rf a lower dir, then mkdir it (opaque)': async ({ ov }, P) => {
    await fsp.rm(P('src/lib'), { recursive: true })
    for (const f of ['src/lib/more/x.txt', 'src/lib/deep.ts']) await ov.unlink(f)
    await ov.rmdir('src/lib/more')
    await ov.rmdir('src/lib')
    await fsp.mkdir(P('src/lib'))
    await ov.mkdir('src/lib', 0o755)
    await fsp.writeFile(P('src/lib/fresh.ts'), 'fresh\n')
    await writeFileOv(ov, 'src/lib/fresh.ts', 'fresh\n')
  },
  'mv a lower file': async ({ ov, store }, P) => {
    await fsp.rename(P('src/a.ts'), P('docs/a-moved.ts'))
    const before = store.blobReads.length
    await ov.rename('src/a.ts', 'docs/a-moved.ts')
    assert.is(store.blobReads.length, before, 'renaming a file downloads nothing')
  },
  'mv a lower dir, downloading nothing, then edit inside': async ({ ov, store }, P) => {
    await fsp.rename(P('src'), P('source'))
    await ov.rename('src', 'source')
    assert.is(store.blobReads.length, 0, 'renaming a directory downloads nothing')
    await fsp.writeFile(P('source/lib/deep.ts'), 'edited\n')
    await writeFileOv(ov, 'source/lib/deep.ts', 'edited\n')
    await fsp.rm(P('source/b.ts'))
    await ov.unlink('source/b.ts')
    await fsp.rename(P('source'), P('docs/source'))
    await ov.rename('source', 'docs/source')
  },
  'mv a merged upper dir (edited lower dir)': async ({ ov }, P) => {
    await fsp.writeFile(P('docs/new.md'), 'n\n')
    await writeFileOv(ov, 'docs/new.md', 'n\n')
    await fsp.rm(P('docs/guide.md'))
    await ov.unlink('docs/guide.md')
    await fsp.rename(P('docs'), P('documentation'))
    await ov.rename('docs', 'documentation')
  },
  'mv a dir over an empty lower dir': async ({ ov }, P) => {
    await fsp.rm(P('docs/img/logo.txt'))
    await ov.unlink('docs/img/logo.txt')
    await fsp.rename(P('src/lib'), P('docs/img'))
    await ov.rename('src/lib', 'docs/img')
  },
  'mv over an existing file, NOREPLACE refused': async ({ ov }, P) => {
    await fsp.rename(P('src/a.ts'), P('src/b.ts'))
    await ov.rename('src/a.ts', 'src/b.ts')
    try {
      await ov.rename('README.md', 'src/b.ts', RENAME_NOREPLACE)
      assert.unreachable('NOREPLACE must refuse')
    } catch (e) {
      assert.is((e as { code?: string }).code, 'EEXIST')
    }
  },
  'RENAME_EXCHANGE a file and a dir': async ({ ov }, P) => {
    await fsp.rename(P('docs'), P('tmpx'))
    await fsp.rename(P('README.md'), P('docs'))
    await fsp.rename(P('tmpx'), P('README.md'))
    await ov.rename('docs', 'README.md', RENAME_EXCHANGE)
  },
  'hard link and symlink': async ({ ov }, P) => {
    await fsp.link(P('src/a.ts'), P('src/a-link.ts'))
    await ov.link('src/a.ts', 'src/a-link.ts')
    await fsp.appendFile(P('src/a-link.ts'), 'via link\n')
    await writeFileOv(ov, 'src/a-link.ts', 'via link\n', C.O_WRONLY | C.O_APPEND)
    await fsp.symlink('../README.md', P('docs/readme'))
    await ov.symlink('../README.md', 'docs/readme')
  },
  'sed -i style: write temp, rename over lower file': async ({ ov }, P) => {
    await fsp.writeFile(P('src/.sedXYZ'), 'sed\n')
    await fsp.rename(P('src/.sedXYZ'), P('src/b.ts'))
    await writeFileOv(ov, 'src/.sedXYZ', 'sed\n')
    await ov.rename('src/.sedXYZ', 'src/b.ts')
  },
  'rename a symlink and a lower executable': async ({ ov }, P) => {
    await fsp.rename(P('link-to-readme'), P('docs/l'))
    await ov.rename('link-to-readme', 'docs/l')
    await fsp.rename(P('bin/run.sh'), P('run.sh'))
    await ov.rename('bin/run.sh', 'run.sh')
    await fsp.rmdir(P('bin'))
    await ov.rmdir('bin')
  },
}

/** The in-memory answers (lookupCached, attrCached) agree with lookup and getattr through the
 *  layers, wherever they answer: for every path there is, was, or never was. */
async function cachedAgrees(ov: Overlay, paths: Iterable<string>, label: string) {
  let answered = 0
  for (const p of new Set(paths)) {
    const fast = ov.lookupCached(p)
    if (fast === undefined) continue
    answered++
    const slow = await ov.lookupFromLayers(p)
    assert.equal(fast ?? undefined, slow, `${label}: lookupCached(${p})`)
    const attr = fast && ov.attrCached(fast)
    if (attr) assert.equal(attr, await ov.getattr(slow!), `${label}: attrCached(${p})`)
    const listed = ov.readdirCached(p)
    if (listed) assert.equal(listed, await ov.readdirFromLayers(p), `${label}: readdirCached(${p})`)
  }
  return answered
}

for (const [name, fn] of Object.entries(cases)) {
  test(name, async () => {
    const env = await setup()
    try {
      const before = Object.keys(await snapshotPlain(env.plain))
      await fn(env, (p) => join(env.plain, p))
      await same(env, name)
      const after = Object.keys(await snapshotPlain(env.plain))
      const extra = ['nope', 'src/nope', 'src/.wh.a.ts', '.wh..wh..opq', 'src/lib/.wh..wh..opq', '.scorpio-work', 'README.md/x', '']
      const all = [...before, ...after, ...extra, ...before.map((p) => `${p}/x`)]
      await cachedAgrees(env.ov, all, name)
      // And on a fresh overlay walked by lookups alone (its caches filled the other way round).
      const again = new Overlay({ upperDir: env.upperDir, lower: await openLower(env.store, env.commit) })
      await again.init()
      await snapshotOverlay(again)
      await cachedAgrees(again, all, `${name} (remount)`)
    } finally {
      await env.cleanup()
    }
  })
}

test('in-memory answers cover a walked lower tree (all but the root entries) and agree with the layers', async () => {
  const env = await setup()
  try {
    const plain = await snapshotPlain(env.plain)
    const paths = Object.keys(plain)
    assert.is(paths.filter((p) => env.ov.lookupCached(p) !== undefined).length, 0, 'nothing known before a walk')
    await snapshotOverlay(env.ov)
    const nested = paths.filter((p) => p.includes('/'))
    const answered = await cachedAgrees(env.ov, paths, 'walked')
    assert.ok(nested.length > 5 && answered >= nested.length, `answered ${answered} of ${nested.length} nested paths`)
    for (const p of nested) assert.ok(env.ov.lookupCached(p), p)
    const dirs = nested.filter((p) => plain[p].startsWith('dir'))
    assert.ok(dirs.length > 2)
    for (const p of dirs) assert.ok(env.ov.readdirCached(p), `readdirCached(${p})`)
    assert.is(env.ov.lookupCached('src/.wh.a.ts'), null, 'an internal name is never an entry')
    assert.is(env.ov.lookupCached('src/nope'), null)
  } finally {
    await env.cleanup()
  }
})

test('errors match a plain directory', async () => {
  const env = await setup()
  try {
    const code = async (p: Promise<unknown>) => p.then(() => 'ok', (e) => e.code)
    assert.is(await code(env.ov.rmdir('src')), 'ENOTEMPTY')
    assert.is(await code(env.ov.unlink('src')), 'EISDIR')
    assert.is(await code(env.ov.rmdir('README.md')), 'ENOTDIR')
    assert.is(await code(env.ov.mkdir('src', 0o755)), 'EEXIST')
    assert.is(await code(env.ov.rename('src', 'README.md')), 'ENOTDIR')
    assert.is(await code(env.ov.rename('README.md', 'src')), 'EISDIR')
    assert.is(await code(env.ov.rename('src', 'docs')), 'ENOTEMPTY')
    assert.is(await code(env.ov.unlink('nope')), 'ENOENT')
    assert.is(await code(env.ov.readdir('README.md')), 'ENOTDIR')
  } finally {
    await env.cleanup()
  }
})

test('metadata and laziness: modes, sizes without contents, commit-time mtime', async () => {
  const env = await setup()
  try {
    const attr = await env.ov.getattr((await env.ov.lookup('bin/run.sh'))!)
    assert.is(attr.mode & 0o777, 0o755)
    assert.is(attr.size, '#!/bin/sh\necho hi\n'.length)
    assert.is(attr.mtimeMs, 1700000000 * 1000)
    assert.is(env.store.blobReads.length, 0, 'stat reads no contents')
    assert.is(await env.ov.readlink('link-to-readme'), 'README.md')
    // chmod of a renamed (metacopy) file changes metadata only.
    await env.ov.rename('src/a.ts', 'a.ts')
    await env.ov.setattr('a.ts', { mode: 0o700 })
    assert.is(env.store.blobReads.length, 1, 'only the symlink target was read')
    assert.is(((await env.ov.getattr((await env.ov.lookup('a.ts'))!)).mode & 0o777), 0o700)
    // chmod and touch of a lower file make a metacopy: still nothing downloaded.
    await env.ov.setattr('src/b.ts', { mode: 0o600, mtimeMs: 1234567890000 })
    const b = await env.ov.getattr((await env.ov.lookup('src/b.ts'))!)
    assert.equal([b.mode & 0o777, b.mtimeMs, b.size], [0o600, 1234567890000, 'export const b = 2\n'.length])
    assert.is(env.store.blobReads.length, 1, 'chmod/touch of a lower file downloads nothing')
  } finally {
    await env.cleanup()
  }
})

test('user xattrs on upper entries; user.scorpio.* hidden and refused', async () => {
  const env = await setup()
  try {
    await env.ov.rename('src/a.ts', 'a.ts') // a metacopy carries user.scorpio.origin
    await env.ov.setxattr('a.ts', 'user.color', Buffer.from('blue'))
    assert.is(Buffer.from(await env.ov.getxattr('a.ts', 'user.color')).toString(), 'blue')
    assert.equal(await env.ov.listxattr('a.ts'), ['user.color'])
    await env.ov.getxattr('a.ts', 'user.scorpio.origin').then(() => assert.unreachable('hidden'), (e) => assert.is(e.code, 'ENODATA'))
    await env.ov.setxattr('README.md', 'user.k', Buffer.from('v'))
    assert.equal(await env.ov.listxattr('README.md'), ['user.k'])
    await env.ov.removexattr('README.md', 'user.k')
    assert.equal(await env.ov.listxattr('README.md'), [])
  } finally {
    await env.cleanup()
  }
})

test('a crash mid copy-up leaves the old state; leftovers are cleaned at init', async () => {
  const env = await setup()
  try {
    await fsp.writeFile(join(env.upperDir, '.scorpio-work', 'deadbeef'), 'partial')
    const ov = new Overlay({ upperDir: env.upperDir, lower: env.lower })
    await ov.init()
    assert.equal(await fsp.readdir(join(env.upperDir, '.scorpio-work')), [])
    assert.equal(await snapshotOverlay(ov), await snapshotPlain(env.plain))
  } finally {
    await env.cleanup()
  }
})

test('server unreachable: uncached read is EIO with a log line naming the path', async () => {
  const env = await setup()
  try {
    const lines: string[] = []
    const ov = new Overlay({ upperDir: env.upperDir, lower: env.lower, log: (l) => lines.push(l) })
    await ov.init()
    env.store.offline = true
    const h = await ov.open('src/b.ts', C.O_RDONLY)
    await ov.read(h, 0, 100).then(() => assert.unreachable('must fail'), (e) => assert.is(e.code, 'EIO'))
    assert.ok(lines.some((l) => l.includes('/src/b.ts')), lines.join('\n'))
  } finally {
    await env.cleanup()
  }
})

test.run()
