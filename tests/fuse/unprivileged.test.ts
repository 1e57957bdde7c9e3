// Unprivileged mounting through fusermount3 (_FUSE_COMMFD, the fd received with recvmsg through
// FFI): as user nobody, Bun and Deno mount a MemFs, write, read and unmount; Node says clearly
// that it cannot and what to do instead. Runs the same on every host runtime.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { unprivilegedBox, NOBODY, type UnprivilegedBox } from '../helpers/unprivileged.ts'

const CHILD = resolve('tests/helpers/unpriv_mount_child.ts')
const bin = (name: string) => resolve('node_modules/.bin', name)
const RUNTIMES: Record<string, string> = {
  bun: `'${bin('bun')}' run '${CHILD}'`,
  deno: `'${bin('deno')}' run -A --no-lock --unstable-sloppy-imports '${CHILD}'`,
  node: `node --import tsx '${CHILD}'`,
}

let box: UnprivilegedBox
test.before(() => { box = unprivilegedBox() })
test.after(() => box?.cleanup())

for (const runtime of ['bun', 'deno']) {
  test(`${runtime}: nobody mounts through fusermount3, writes, reads and unmounts`, async () => {
    const mnt = box.dir(`mnt-${runtime}`)
    const r = await box.run(`${RUNTIMES[runtime]} '${mnt}'`)
    const line = r.stdout.trim().split('\n').pop() ?? ''
    assert.ok(line.startsWith('{'), `no result line: ${r.stdout} ${r.stderr}`)
    const res = JSON.parse(line)
    assert.ok(res.ok, res.error)
    assert.is(res.uid, NOBODY)
    assert.is(res.fuseType, 'fuse.scorpio')
    assert.match(res.wrote, new RegExp(`^-rw-r--r-- 1 ${NOBODY} ${NOBODY} +6 .* f\\.txt$`, 'm'))
    assert.is(res.read, 'hello\ndeep\n')
    assert.is(res.mountedAfter, false)
    assert.is(r.status, 0, r.stderr)
  })
}

test('bun: allow_other without user_allow_other in /etc/fuse.conf is a clear error naming the fix', async () => {
  const conf = await readFile('/etc/fuse.conf', 'utf8').catch(() => '')
  if (/^\s*user_allow_other\s*$/m.test(conf)) return // this machine allows it: nothing to check
  const mnt = box.dir('mnt-allow-other')
  const r = await box.run(`SCORPIO_TEST_ALLOW_OTHER=1 ${RUNTIMES.bun} '${mnt}'`)
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')
  assert.is(res.ok, false)
  assert.not.match(res.error, /\n/)
  assert.match(res.error, /user_allow_other/)
  assert.match(res.error, /\/etc\/fuse\.conf, or mount without --allow-other/)
})

test('node: a clear one-line error that says to run as root or use the binary', async () => {
  const mnt = box.dir('mnt-node')
  const r = await box.run(`${RUNTIMES.node} '${mnt}'`)
  const res = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}')
  assert.is(res.ok, false)
  assert.not.match(res.error, /\n/)
  assert.match(res.error, /without root on Node\.js/)
  assert.match(res.error, /run as root .* single binary dist\/scorpio/)
  assert.is(r.status, 1)
})

test.run()
