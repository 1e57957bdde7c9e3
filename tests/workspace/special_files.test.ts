// Device nodes, FIFOs and Unix sockets made in a workspace are real (mknod and bind work as on a
// local disk), survive a remount, and are left out of status and commit with one line each on
// stderr. Names of 255 bytes work too, including deleting a lower entry of such a name (its
// whiteout cannot be a `.wh.NAME` file). Runs as root (device nodes need it).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { createServer, createConnection } from 'node:net'
import { join } from 'node:path'
import { runToEnd } from '../helpers/run.ts'
import { sampleFiles } from '../helpers/repos.ts'
import { scorpio, withMount } from '../mount/_cli.ts'

const LONG = 'L'.repeat(255)
const LOWER_LONG = 'w'.repeat(254)

async function kind(p: string): Promise<string> {
  const st = await fsp.lstat(p)
  const type = st.isFIFO() ? 'fifo' : st.isSocket() ? 'socket' : st.isBlockDevice() ? 'block' : st.isCharacterDevice() ? 'char' : st.isFile() ? 'file' : '?'
  const dev = st.isBlockDevice() || st.isCharacterDevice() ? ` ${st.rdev >> 8}:${st.rdev & 0xff}` : ''
  return `${type}${dev} ${(st.mode & 0o7777).toString(8)}`
}

test('mknod of devices, FIFOs and sockets; 255-byte names; kept through remount; left out of status and commit', async () => {
  const files = [...sampleFiles(), { path: `dir/${LOWER_LONG}`, content: 'long\n' }]
  await withMount({ count: 0, files }, async (m) => {
    const { mnt, env } = m
    const sh = (script: string) => runToEnd('sh', ['-c', script], { cwd: mnt, timeoutMs: 30_000 })
    const made = await sh('umask 022 && mknod -m 640 blk b 7 200 && mknod -m 600 chr c 1 3 && mkfifo -m 604 fifo && mkdir d && mknod d/chr2 c 4 5')
    assert.is(made.status, 0, made.stderr)
    // bind(2) on the mount makes the socket file; a client can connect while the listener lives
    const server2 = createServer((c) => c.end('hello'))
    await new Promise<void>((res) => server2.listen(join(mnt, 'sock'), res))
    const got = await new Promise<string>((res, rej) => {
      let text = ''
      createConnection(join(mnt, 'sock')).on('data', (d) => (text += d)).on('end', () => res(text)).on('error', rej)
    })
    assert.is(got, 'hello')
    // closing the listener unlinks the socket file (libuv): bind another one and keep its file
    await new Promise<void>((res) => server2.close(() => res()))
    assert.is(await fsp.lstat(join(mnt, 'sock')).then(() => true, () => false), false)
    const r = await runToEnd(process.execPath, ['-e', "require('net').createServer().listen('sock', () => process.exit(0))"], { cwd: mnt, timeoutMs: 30_000 })
    assert.is(r.status, 0, r.stderr)
    assert.is(await fsp.readFile(join(mnt, 'chr'), 'utf8').then((t) => t.length), 0, '/dev/null semantics through the node')

    // 255-byte names: create, rename, and delete a lower entry whose whiteout name would be too long
    await fsp.writeFile(join(mnt, LONG), 'x')
    await fsp.rename(join(mnt, LONG), join(mnt, 'd', LONG))
    assert.is(await fsp.readFile(join(mnt, 'd', LONG), 'utf8'), 'x')
    assert.is(await fsp.readFile(join(mnt, 'dir', LOWER_LONG), 'utf8'), 'long\n')
    await fsp.unlink(join(mnt, 'dir', LOWER_LONG))
    assert.equal(await fsp.readdir(join(mnt, 'dir')), [])

    const expected = { blk: 'block 7:200 640', chr: 'char 1:3 600', fifo: 'fifo 604', 'd/chr2': 'char 4:5 644' }
    const check = async (when: string) => {
      for (const [name, k] of Object.entries(expected)) assert.is(await kind(join(mnt, name)), k, `${name} ${when}`)
      assert.ok((await fsp.lstat(join(mnt, 'sock'))).isSocket(), `sock ${when}`)
      assert.is(await fsp.readFile(join(mnt, 'd', LONG), 'utf8'), 'x', when)
      assert.equal(await fsp.readdir(join(mnt, 'dir')), [], when)
    }
    await check('before remount')
    assert.is(await m.stop(), 0)
    await m.start()
    await check('after remount')

    const st = await scorpio(['status'], { env, cwd: mnt })
    assert.is(st.status, 0, st.stderr)
    const left = st.stderr.split('\n').filter((l) => l.startsWith('scorpio: left out')).sort()
    assert.equal(left, [
      'scorpio: left out (Git cannot store a block device): blk',
      'scorpio: left out (Git cannot store a character device): chr',
      'scorpio: left out (Git cannot store a character device): d/chr2',
      'scorpio: left out (Git cannot store a fifo): fifo',
      'scorpio: left out (Git cannot store a socket): sock',
    ])
    assert.equal(st.stdout.split('\n').slice(1).filter(Boolean).sort(), [`A d/${LONG}`, `D dir/${LOWER_LONG}`])
    const c = await scorpio(['commit', '-m', 'long names', '--author', 'T <t@t>'], { env, cwd: mnt })
    assert.is(c.status, 0, c.stderr)
    assert.is(c.stderr.split('\n').filter((l) => l.startsWith('scorpio: left out')).length, 5)
    await check('after commit')
    const after = await scorpio(['status'], { env, cwd: mnt })
    assert.match(after.stdout, /nothing to commit/)
  })
})

test.run()
