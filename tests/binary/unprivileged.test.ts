// The single binary mounts without root: as user nobody (fusermount3, the /dev/fuse fd received
// over _FUSE_COMMFD through bun:ffi), `dist/scorpio mount --background` against a real git
// http-backend, then read, write, status and umount (fusermount3 -u). The user's shell runs in a
// private mount namespace (tests/helpers/unprivileged.ts), so nothing can stay mounted.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync } from 'node:child_process'
import { copyFileSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { BINARY, ensureBinary } from './_binary.ts'
import { isMounted, requireFuseOnly, serveRepo, type Served } from '../antares/_env.ts'
import { unprivilegedBox, NOBODY, type UnprivilegedBox } from '../helpers/unprivileged.ts'

let box: UnprivilegedBox
let served: Served

test.before(async () => {
  requireFuseOnly()
  ensureBinary()
  box = unprivilegedBox('scorpio-binary-unpriv-')
  served = await serveRepo(40)
})
test.after(async () => {
  box?.cleanup()
  await served?.close()
})

test('nobody: mount --background, read, write, status, umount with the binary', async () => {
  const binDir = box.dir('bin')
  const bin = join(binDir, 'scorpio')
  copyFileSync(BINARY, bin)
  const mnt = box.dir('ws')
  const out = box.dir('out')
  const script = [
    'set -e',
    `B='${bin}'; M='${mnt}'; O='${out}'`,
    // Whatever happens below, the mount ends with the script (and the namespace with it).
    'trap \'"$B" umount "$M" >/dev/null 2>&1 || true\' EXIT',
    'id -u > "$O/uid"',
    `"$B" mount '${served.url}' "$M" --background > "$O/ready"`,
    'grep " $M " /proc/self/mounts | cut -d" " -f3,4 > "$O/mount"',
    'cat "$M/README.md" > "$O/README.md"',
    'cat "$M/src/main.ts" > "$O/main.ts"',
    'echo "written by nobody" > "$M/added.txt"',
    'echo "more" >> "$M/README.md"',
    'cat "$M/added.txt" > "$O/added.txt"',
    'ls -n "$M/added.txt" > "$O/ls"',
    '(cd "$M" && "$B" status --json) > "$O/status.json"',
    '"$B" umount "$M"',
    'grep -c " $M " /proc/self/mounts > "$O/after" || true',
  ].join('\n')
  const r = await box.run(script)
  assert.is(r.status, 0, `${r.stdout}\n${r.stderr}`)
  const read = (name: string) => readFileSync(join(out, name), 'utf8')
  assert.is(read('uid').trim(), String(NOBODY))
  assert.is(read('ready'), `ready ${mnt}\n`)
  assert.match(read('mount'), /^fuse\.scorpio rw,nosuid,nodev,/)
  const git = (path: string) => execFileSync('git', ['--git-dir', served.repo.path, 'show', `HEAD:${path}`]).toString()
  assert.is(read('README.md'), git('README.md'))
  assert.is(read('main.ts'), git('src/main.ts'))
  assert.is(read('added.txt'), 'written by nobody\n')
  assert.match(read('ls'), new RegExp(`^-\\S+ 1 ${NOBODY} ${NOBODY} `))
  assert.equal(JSON.parse(read('status.json')).changes, [
    { path: 'README.md', status: 'modified' },
    { path: 'added.txt', status: 'added' },
  ])
  assert.is(read('after').trim(), '0')
  assert.not.ok(isMounted(mnt))
})

test.run()
