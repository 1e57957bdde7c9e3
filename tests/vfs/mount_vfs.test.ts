// Real mounts of the vfs over a local bare repository through the real object store: listing and
// contents equal git's, modes and symlinks, every overlay case through ordinary tools, remount
// keeps edits, renaming a lower directory downloads nothing, parallel create/stat/unlink.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mountFuse, type FuseMount, type RawFileSystem } from '../../lib/fuse/mod.ts'
import { openLower } from '../../lib/lower/mod.ts'
import { Overlay } from '../../lib/overlay/mod.ts'
import { openLocalRemote } from '../../lib/remote/mod.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { createVfs } from '../../lib/vfs/mod.ts'
import { forceUnmount, requireFuse, sh, tmpMountpoint } from '../helpers/mounts.ts'
import { commitFiles, git, lsTree, makeBareRepo, sampleFiles, type TestRepo } from '../helpers/repos.ts'

let repo: TestRepo
const scratch = mkdtempSync(join(tmpdir(), 'scorpio-vfs-'))
const upperDir = join(scratch, 'upper')
const cacheDir = join(scratch, 'cache')

interface Live { mnt: string; mount: FuseMount; store: Store; vfs: ReturnType<typeof createVfs> }

/** Mounts the repo's head over `upper`; `prepare` sees the file system before the kernel does. */
async function mountWs(upper = upperDir, prepare?: (fs: RawFileSystem) => void): Promise<Live> {
  const store = await openStore({ remote: await openLocalRemote(repo.path), cacheDir })
  const lower = await openLower(store, repo.head)
  const overlay = new Overlay({ upperDir: upper, lower, log: () => {} })
  await overlay.init()
  const vfs = createVfs({ overlay, log: () => {} })
  prepare?.(vfs.fs)
  const mnt = tmpMountpoint('scorpio-vfs-mnt-')
  const mount = await mountFuse(mnt, vfs.fs, { log: () => {} })
  vfs.attach(mount)
  return { mnt, mount, store, vfs }
}

async function unmountWs(l: Live | undefined): Promise<void> {
  if (!l) return
  try {
    await l.mount.unmount()
  } finally {
    forceUnmount(l.mnt)
    await l.store.close()
  }
}

test.before(async () => {
  requireFuse()
  repo = await makeBareRepo({ dir: scratch, files: sampleFiles(200) })
})

test.after(() => {
  repo?.cleanup()
  rmSync(scratch, { recursive: true, force: true })
})

test('listing, modes, symlinks and contents equal git ls-tree / cat-file; stat downloads nothing', async () => {
  let l: Live | undefined
  try {
    l = await mountWs()
    const rows = lsTree(repo.path, repo.head)
    const want = rows.map((r) => r.path).sort()
    const got = (await sh('find . -mindepth 1 | sed s,^./,, | LC_ALL=C sort', { cwd: l.mnt })).trim().split('\n')
    assert.equal(got, [...want].sort((a, b) => (Buffer.from(a) < Buffer.from(b) ? -1 : 1)))
    const statOut = await sh('find . -mindepth 1 -printf "%P %y %m %s\\n"', { cwd: l.mnt })
    const stats = new Map(statOut.trim().split('\n').map((line) => { const [p, ...rest] = line.split(' '); return [p, rest] }))
    const sizes = new Map(git(repo.path, ['cat-file', '--batch-check=%(objectname) %(objectsize)'], rows.filter((r) => r.type === 'blob').map((r) => r.oid).join('\n') + '\n')
      .trim().split('\n').map((line) => line.split(' ') as [string, string]))
    for (const r of rows) {
      const [type, perm, size] = stats.get(r.path)!
      const expect = { '100644': ['f', '644'], '100755': ['f', '755'], '120000': ['l', '777'], '40000': ['d', '755'], '040000': ['d', '755'], '160000': ['d', '755'] }[r.mode]!
      assert.equal([type, perm], expect, r.path)
      if (r.type === 'blob') assert.is(Number(size), Number(sizes.get(r.oid)), `size of ${r.path}`)
    }
    assert.is(l.store.stats.bytesFetched < 20000, true, 'a full walk with sizes downloads (almost) no contents')
    const some = rows.filter((x) => x.mode === '100644' || x.mode === '100755').filter((_, i) => i % 15 === 0)
    const hashes = await sh(`for f in ${some.map((r) => `'${r.path}'`).join(' ')}; do git hash-object "$f"; done`, { cwd: l.mnt })
    assert.equal(hashes.trim().split("\n"), some.map((r) => r.oid), 'contents hash to the blob ids')
    assert.is((await sh('readlink link-to-main', { cwd: l.mnt })).trim(), 'src/main.ts')
    assert.is((await sh('ls -A vendor/sub', { cwd: l.mnt })).trim(), '', 'a submodule is an empty directory')
    const commitTime = git(repo.path, ['log', '-1', '--format=%ct', repo.head]).trim()
    assert.is((await sh('stat -c %Y README.md src/lib', { cwd: l.mnt })).trim(), `${commitTime}\n${commitTime}`)
  } finally {
    await unmountWs(l)
  }
})

test('overlay cases through real tools match a plain checkout, and survive a remount', async () => {
  const plain = join(scratch, 'plain')
  await sh(`git clone -q ${repo.path} ${plain} && rm -rf ${plain}/.git`)
  const script = `set -e
    echo new > new.txt
    echo more >> README.md
    sed -i 's/export/EXPORT/' src/main.ts
    mv src/lib src/library
    mv bin/run.sh run.sh && rmdir bin
    rm -rf pkg/p1
    mkdir pkg/p2 2>/dev/null || true
    rm -rf pkg/p3 && mkdir pkg/p3 && echo fresh > pkg/p3/only.txt
    ln src/main.ts hard.ts
    ln -s README.md readme-link
    chmod 700 run.sh
    touch -d '2020-01-02 03:04:05' empty.txt
    truncate -s 5 data/blob.bin
    mkdir -p a/b/c && echo deep > a/b/c/d.txt
    mv pkg/p4 a/b/moved
  `
  let l: Live | undefined
  const snap = (dir: string) =>
    sh(`find . -mindepth 1 -not -path './vendor/sub/*' -printf '%P %y %m %s %l\\n' | LC_ALL=C sort && find . -type f -exec sha1sum {} + | LC_ALL=C sort -k2 && stat -c '%n %Y' empty.txt`, { cwd: dir })
  try {
    await sh(script, { cwd: plain })
    l = await mountWs()
    await sh(script, { cwd: l.mnt })
    const want = await snap(plain)
    assert.is(await snap(l.mnt), want)
    await unmountWs(l)
    l = await mountWs()
    assert.is(await snap(l.mnt), want, 'after remount')
  } finally {
    await unmountWs(l)
  }
})

test('renaming a lower directory downloads nothing', async () => {
  let l: Live | undefined
  try {
    l = await mountWs()
    await sh('ls -lR pkg/p5 > /dev/null', { cwd: l.mnt }) // sizes may be fetched; contents not
    const before = { ...l.store.stats }
    const blobsBefore = Number(await sh(`find ${cacheDir} -type f | wc -l`))
    await sh('mv pkg/p5 renamed-p5 && mv renamed-p5 pkg/p5-again', { cwd: l.mnt })
    assert.is(l.store.stats.requests, before.requests, 'no remote request for a directory rename')
    assert.is(Number(await sh(`find ${cacheDir} -type f | wc -l`)), blobsBefore)
    assert.ok((await sh('ls pkg/p5-again/d0 | wc -l', { cwd: l.mnt })).trim() !== '0')
  } finally {
    await unmountWs(l)
  }
})

test('many parallel create/stat/unlink: no spurious ENOENT, lookup counts settle', async () => {
  let l: Live | undefined
  try {
    l = await mountWs()
    const out = await sh(
      `mkdir -p par && for w in 1 2 3 4 5 6 7 8; do (for i in $(seq 1 25); do f=par/f$w-$((i % 5)); echo x > $f && stat $f > /dev/null && cat $f > /dev/null && rm $f || echo FAIL $w $i; done) & done; wait; ls par | wc -l`,
      { cwd: l.mnt },
    )
    assert.not.match(out, /FAIL|No such file/, out)
    assert.is(out.trim().split('\n').pop(), '0')
  } finally {
    await unmountWs(l)
  }
})

test('switchBase: a new base commit shows through, changed entries invalidated in the kernel', async () => {
  let l: Live | undefined
  try {
    l = await mountWs(join(scratch, 'upper-switch'))
    const { mnt, store, vfs } = l
    const before = await sh('cat README.md; ls src', { cwd: mnt })
    // A name probed before it exists is kept by the kernel as absent: the switch must drop that too.
    assert.match(await sh('stat src/added.ts 2>&1 || true', { cwd: mnt }), /No such file/)
    const next = await commitFiles(repo.path, [{ path: 'README.md', content: '# changed\n' }, { path: 'src/added.ts', content: 'added\n' }], { message: 'next', branch: 'next', parent: repo.head })
    await vfs.switchBase(await openLower(store, next), ['README.md', 'src/added.ts'])
    const after = await sh('cat README.md; ls src', { cwd: mnt })
    assert.is.not(after, before)
    assert.match(after, /# changed/)
    assert.match(after, /added\.ts/)
    assert.is(await sh('cat src/added.ts', { cwd: mnt }), 'added\n')
  } finally {
    await unmountWs(l)
  }
})

test('a missing name is asked once (negative entry), and shows up once made through the mount', async () => {
  let l: Live | undefined
  try {
    const asked = new Map<string, number>()
    l = await mountWs(join(scratch, 'upper-negative'), (fs) => {
      const lookup = fs.lookup!.bind(fs)
      fs.lookup = (ctx, i) => {
        asked.set(i.name, (asked.get(i.name) ?? 0) + 1)
        return lookup(ctx, i)
      }
    })
    const { mnt } = l
    const probe = 'for i in $(seq 1 20); do stat src/probe.h >/dev/null 2>&1 && echo found; done; echo done'
    assert.is((await sh(probe, { cwd: mnt })).trim(), 'done')
    assert.is(asked.get('probe.h'), 1, 'twenty stats of a missing name in a lower directory: one LOOKUP')
    await sh('echo made > src/probe.h', { cwd: mnt })
    assert.is(await sh('cat src/probe.h', { cwd: mnt }), 'made\n')
    await sh('rm src/probe.h', { cwd: mnt })
    assert.match(await sh('stat src/probe.h 2>&1 || true', { cwd: mnt }), /No such file/)
    await sh('mkdir src/probe.h && touch src/probe.h/x', { cwd: mnt })
    assert.is((await sh('ls src/probe.h', { cwd: mnt })).trim(), 'x')
  } finally {
    await unmountWs(l)
  }
})

test('git init and commits inside the mount', async () => {
  let l: Live | undefined
  try {
    l = await mountWs()
    const out = await sh(
      `mkdir proj && cd proj && git init -q && echo a > a && git add a && git -c user.name=t -c user.email=t@e commit -qm one && echo b >> a && git -c user.name=t -c user.email=t@e commit -qam two && git log --format=%s && git status --porcelain && git fsck --no-progress 2>&1 | grep -v dangling || true`,
      { cwd: l.mnt },
    )
    assert.is(out.trim(), 'two\none')
  } finally {
    await unmountWs(l)
  }
})

test.run()
