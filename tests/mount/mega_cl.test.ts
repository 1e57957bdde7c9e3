// End to end: `--mega` with `--path` and a Mega CL (`--cl LINK`, including `renamed`) over the test
// Mega server; a local directory as the CL layer over a git remote.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { startMegaServer, type MegaServer } from '../helpers/mega_server.ts'
import { git, makeBareRepo, sampleFiles, writeRawObject, type TestRepo } from '../helpers/repos.ts'
import { exists, mountForeground, requireFuse, sandbox, type Sandbox } from './_cli.ts'

let sb: Sandbox
let repo: TestRepo
let mega: MegaServer

test.before(async () => {
  requireFuse()
  sb = sandbox()
  repo = await makeBareRepo({ files: sampleFiles(10) })
  mega = await startMegaServer(repo.path)
})
test.after(async () => {
  sb?.cleanup()
  await mega?.close()
  repo?.cleanup()
})

test('--mega --cl LINK: modified, deleted and renamed entries over the lower layer', async () => {
  const newMain = writeRawObject(repo.path, 'blob', Buffer.from('export const x = 42\n'))
  const util = git(repo.path, ['rev-parse', 'HEAD:src/lib/util.ts']).trim()
  mega.cls.set('cl1', [
    { path: '/src/main.ts', sha: `sha1:${newMain}`, action: 'modified' },
    { path: '/README.md', sha: '', action: 'deleted' },
    { path: '/src/util2.ts', sha: util, action: 'renamed', old_path: '/src/lib/util.ts' },
  ])
  const mp = sb.dir('ws-cl')
  const m = await mountForeground([mega.base, mp, '--mega', '--cl', 'cl1'], { env: sb.env })
  try {
    assert.is(await fsp.readFile(join(mp, 'src/main.ts'), 'utf8'), 'export const x = 42\n')
    assert.not.ok(await exists(join(mp, 'README.md')))
    assert.not.ok(await exists(join(mp, 'src/lib/util.ts')))
    assert.is(await fsp.readFile(join(mp, 'src/util2.ts'), 'utf8'), 'export function f() { return 2 }\n')
    assert.is(await fsp.readFile(join(mp, 'src/lib/deep/er/still/leaf.txt'), 'utf8'), 'leaf\n')
  } finally {
    assert.is(await m.stop(), 0)
  }
})

test('--mega --path SUBDIR mounts one directory; CL paths outside it are ignored', async () => {
  const mp = sb.dir('ws-path')
  const m = await mountForeground([mega.base, mp, '--mega', '--path', 'src', '--cl', 'cl1'], { env: sb.env })
  try {
    assert.equal((await fsp.readdir(mp)).sort(), ['lib', 'main.ts', 'util2.ts'])
    assert.is(await fsp.readFile(join(mp, 'main.ts'), 'utf8'), 'export const x = 42\n')
  } finally {
    await m.stop()
  }
})

test('--cl DIR: a local directory layered between upper and lower', async () => {
  const cl = sb.dir('cl-dir')
  await fsp.mkdir(join(cl, 'src'), { recursive: true })
  await fsp.writeFile(join(cl, 'src/main.ts'), 'from the CL dir\n')
  await fsp.writeFile(join(cl, 'added.txt'), 'added\n')
  const mp = sb.dir('ws-cldir')
  const m = await mountForeground([mega.base, mp, '--mega', '--cl', cl], { env: sb.env })
  try {
    assert.is(await fsp.readFile(join(mp, 'src/main.ts'), 'utf8'), 'from the CL dir\n')
    assert.is(await fsp.readFile(join(mp, 'added.txt'), 'utf8'), 'added\n')
    assert.is(await fsp.readFile(join(mp, 'README.md'), 'utf8'), '# test repo\n')
  } finally {
    await m.stop()
  }
})

test.run()
