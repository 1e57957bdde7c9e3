// Real-mount tests: the in-memory FS mounted through lib/fuse, exercised with ordinary tools.
// The last test checks that every opcode of the RawFileSystem contract was really reached.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, rmSync } from 'node:fs'
import { promises as fsp } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { mountFuse, type FuseMount } from '../../lib/fuse/mod.ts'
import { MemFs } from '../helpers/mem_fs.ts'
import { forceUnmount, requireFuse, sh, tmpMountpoint } from '../helpers/mounts.ts'

const fs = new MemFs()
let mnt = ''
let mount: FuseMount | undefined
const scratch = mkdtempSync(join(tmpdir(), 'scorpio-fuse-src-'))

test.before(async () => {
  requireFuse()
  mnt = tmpMountpoint()
  mount = await mountFuse(mnt, fs, { log: () => {}, allowOther: true })
})

test.after(async () => {
  try {
    await mount?.unmount()
  } finally {
    forceUnmount(mnt)
    rmSync(scratch, { recursive: true, force: true })
  }
})

const py = (code: string, cwd = mnt) => sh(`python3 -c '${code.replace(/'/g, `'"'"'`)}'`, { cwd })

test('cp -a a tree in and out keeps contents, modes, symlinks and times', async () => {
  await sh(`mkdir -p src/sub/deeper && printf 'alpha\\n' > src/a.txt && head -c 300000 /dev/urandom > src/sub/blob.bin &&
    printf 'x' > src/sub/deeper/x && chmod 0750 src/sub && chmod 0600 src/a.txt && ln -s ../a.txt src/sub/link &&
    touch -d '2001-02-03 04:05:06' src/a.txt`, { cwd: scratch })
  await sh(`cp -a ${scratch}/src ${mnt}/tree`)
  await sh(`diff -r ${scratch}/src ${mnt}/tree`)
  assert.is((await sh(`stat -c '%a %Y' tree/a.txt tree/sub`, { cwd: mnt })).trim(), `600 ${Math.floor(new Date('2001-02-03T04:05:06').getTime() / 1000)}\n750 ${(await sh(`stat -c %Y ${scratch}/src/sub`)).trim()}`)
  assert.is((await sh('readlink tree/sub/link', { cwd: mnt })).trim(), '../a.txt')
  await sh(`cp -a ${mnt}/tree ${scratch}/back && diff -r ${scratch}/src ${scratch}/back`)
})

test('mv within and across directories; rename over an existing file', async () => {
  await sh('mkdir -p mv/a mv/b && echo one > mv/a/f && echo two > mv/b/g', { cwd: mnt })
  await sh('mv mv/a/f mv/b/f && mv mv/b/f mv/b/g && mv mv/a mv/c', { cwd: mnt })
  assert.is(await sh('cat mv/b/g', { cwd: mnt }), 'one\n')
  assert.is((await sh('ls mv', { cwd: mnt })).trim().split('\n').join(' '), 'b c')
})

test('renameat2: RENAME_NOREPLACE refuses an existing target, RENAME_EXCHANGE swaps', async () => {
  await sh('mkdir r2 && echo A > r2/a && echo B > r2/b', { cwd: mnt })
  const out = await py(`
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
def r2(a, b, flags):
    rc = libc.renameat2(-100, a.encode(), -100, b.encode(), flags)
    return 0 if rc == 0 else ctypes.get_errno()
print(r2("r2/a", "r2/b", 1), r2("r2/a", "r2/b", 2), r2("r2/a", "r2/c", 1))
`)
  assert.is(out.trim(), '17 0 0') // EEXIST, then exchanged, then moved to a free name
  assert.is(await sh('cat r2/b r2/c', { cwd: mnt }), 'A\nB\n')
})

test('ln -s and hard links (nlink counts)', async () => {
  await sh('mkdir ln && echo data > ln/f && ln ln/f ln/hard && ln -s f ln/soft', { cwd: mnt })
  assert.is((await sh('stat -c %h ln/f', { cwd: mnt })).trim(), '2')
  assert.is(await sh('cat ln/soft ln/hard', { cwd: mnt }), 'data\ndata\n')
  await sh('rm ln/f', { cwd: mnt })
  assert.is((await sh('stat -c %h ln/hard', { cwd: mnt })).trim(), '1')
})

test('directory nlink follows mkdir, rmdir, mv and exchange like a plain directory', async () => {
  const script = `mkdir -p nl/a/x nl/a/y nl/b && touch nl/a/f && rmdir nl/a/y && mv nl/a/x nl/b/x && mkdir nl/b/z &&
    python3 -c 'import ctypes; ctypes.CDLL(None).renameat2(-100, b"nl/a/f", -100, b"nl/b/z", 2)' &&
    mkdir nl/c && mv nl/b/x nl/c && stat -c '%n %h' nl nl/a nl/b nl/c`
  assert.is(await sh(script, { cwd: mnt }), await sh(script, { cwd: scratch }))
})

test('tar in and out', async () => {
  await sh(`mkdir -p t/d && seq 1 5000 > t/d/nums && ln -s d/nums t/ln && tar -C ${scratch} -cf ${scratch}/t.tar t`, { cwd: scratch })
  await sh(`mkdir untar && tar -C untar -xf ${scratch}/t.tar`, { cwd: mnt })
  await sh(`diff -r ${scratch}/t untar/t`, { cwd: mnt })
  const listing = await sh(`tar -C ${mnt}/untar -cf - t | tar -tvf -`)
  assert.match(listing, /t\/ln -> d\/nums/)
  assert.match(listing, /t\/d\/nums/)
})

test('dd at odd offsets matches the same writes on a native file', async () => {
  await sh(`head -c 200000 /dev/urandom > ${scratch}/rand`)
  const cmds = (f: string) => [
    `dd if=${scratch}/rand of=${f} bs=1 count=777 seek=12345 conv=notrunc status=none`,
    `dd if=${scratch}/rand of=${f} bs=4093 count=7 skip=3 seek=5 conv=notrunc status=none`,
    `dd if=${scratch}/rand of=${f} bs=65537 count=2 seek=1 conv=notrunc,fsync status=none`,
  ].join(' && ')
  await sh(cmds(`${mnt}/dd.bin`))
  await sh(cmds(`${scratch}/dd.bin`))
  await sh(`cmp ${scratch}/dd.bin ${mnt}/dd.bin`)
  // odd-offset reads too
  const a = await sh(`dd if=${mnt}/dd.bin bs=3 skip=4111 count=1000 status=none | md5sum`)
  const b = await sh(`dd if=${scratch}/dd.bin bs=3 skip=4111 count=1000 status=none | md5sum`)
  assert.is(a, b)
})

test('truncate, chmod, touch -d, stat -f', async () => {
  await sh('echo hello > meta && truncate -s 100000 meta && chmod 0704 meta && touch -d "2010-06-07 08:09:10.5" meta', { cwd: mnt })
  const [size, mode, mtime] = (await sh('stat -c "%s %a %y" meta', { cwd: mnt })).trim().split(' ')
  assert.is(size, '100000')
  assert.is(mode, '704')
  assert.is(mtime, '2010-06-07')
  await sh('truncate -s 3 meta', { cwd: mnt })
  assert.is(await sh('cat meta', { cwd: mnt }), 'hel')
  assert.match(await sh(`stat -f -c '%S %b' ${mnt}`), /^4096 1048576/)
})

test('setfattr / getfattr / remove', async () => {
  await sh('touch x && setfattr -n user.colour -v blue x && setfattr -n user.size -v 42 x', { cwd: mnt })
  const dump = await sh('getfattr -d x', { cwd: mnt })
  assert.match(dump, /user.colour="blue"/)
  assert.match(dump, /user.size="42"/)
  await sh('setfattr -x user.colour x', { cwd: mnt })
  assert.not.match(await sh('getfattr -d x', { cwd: mnt }), /colour/)
  const err = await sh('getfattr -n user.nope x', { cwd: mnt }).catch((e: Error) => e.message)
  assert.match(String(err), /No such attribute/)
})

test('fallocate, SEEK_DATA/SEEK_HOLE, copy_file_range, mkfifo, fsync of a directory, access', async () => {
  await sh('fallocate -l 8192 fa && fallocate -p -o 0 -l 4096 fa', { cwd: mnt })
  assert.is((await sh('stat -c %s fa', { cwd: mnt })).trim(), '8192')
  const out = await py(`
import os
fd = os.open("fa", os.O_RDWR)
os.write(fd, b"x" * 5000)
print(os.lseek(fd, 10, os.SEEK_DATA), os.lseek(fd, 10, os.SEEK_HOLE))
src = os.open("fa", os.O_RDONLY)
dst = os.open("cfr", os.O_WRONLY | os.O_CREAT, 0o644)
print(os.copy_file_range(src, dst, 3000, 100, 0))
os.fsync(dst)
d = os.open(".", os.O_RDONLY)
os.fsync(d)
print(os.access("cfr", os.W_OK))
`)
  assert.is(out, '10 8192\n3000\nTrue\n')
  assert.is(await sh('head -c 3000 fa | cmp - cfr && echo same', { cwd: mnt }), 'same\n')
  await sh('mkfifo pipe && test -p pipe', { cwd: mnt })
})

test('a write by another user clears set-user-ID (FUSE_HANDLE_KILLPRIV_V2 flags honoured)', async () => {
  await sh('echo x > suid && chmod 4777 suid', { cwd: mnt })
  await sh(`setpriv --reuid=65534 --regid=65534 --clear-groups bash -c 'echo more >> ${mnt}/suid'`)
  // the file system saw the kill flag (the kernel may still show its cached mode for a moment)
  const ino = fs.node(1).children!.get('suid')!
  assert.is((fs.node(ino).mode & 0o7777).toString(8), '777')
  assert.is(await sh('cat suid', { cwd: mnt }), 'x\nmore\n')
})

test('git init, add, commit inside the mount', async () => {
  const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@e', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@e', HOME: scratch }
  await sh('mkdir repo && cd repo && git init -q && mkdir -p src && for i in $(seq 1 40); do echo "line $i" > src/f$i.txt; done && ' +
    'git add -A && git commit -qm first && echo change >> src/f1.txt && git mv src/f2.txt src/renamed.txt && git rm -q src/f3.txt && ' +
    'git commit -qam second && git gc -q && git fsck --strict', { cwd: mnt, env })
  assert.is((await sh('git -C repo log --oneline | wc -l', { cwd: mnt, env })).trim(), '2')
  assert.is((await sh('git -C repo status --porcelain', { cwd: mnt, env })).trim(), '')
  assert.match(await sh('git -C repo show --stat HEAD', { cwd: mnt, env }), /renamed\.txt/)
})

test('rm -r of a big directory; FORGET arrives after dropping caches', async () => {
  await sh('mkdir many && cd many && for i in $(seq 1 300); do echo $i > f$i; done', { cwd: mnt })
  assert.is((await sh('ls many | wc -l', { cwd: mnt })).trim(), '300')
  await sh('rm -r many', { cwd: mnt })
  await fsp.writeFile('/proc/sys/vm/drop_caches', '2')
  await sh(`ls -R ${mnt} > /dev/null`)
})

test('every opcode of the contract reached the file system', () => {
  const expected = ['init', 'lookup', 'getattr', 'setattr', 'readlink', 'symlink', 'mknod', 'mkdir', 'unlink', 'rmdir',
    'rename', 'rename2', 'link', 'open', 'read', 'write', 'statfs', 'release', 'fsync', 'setxattr', 'getxattr',
    'listxattr', 'removexattr', 'flush', 'opendir', 'readdirplus', 'releasedir', 'fsyncdir', 'access', 'create',
    'fallocate', 'lseek', 'copyFileRange', 'forget']
  const missing = expected.filter((m) => !fs.calls.get(m))
  assert.equal(missing, [], `never called: ${missing.join(', ')}`)
})

test.run()
