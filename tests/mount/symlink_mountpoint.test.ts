// A mountpoint reached through a symlink: the kernel mounts on the real directory, the user may
// name it either way. `-C` with either path, and commands run inside the mount, find the workspace
// (the registry once knew the mount only by the path given to `scorpio mount`).
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { promises as fsp, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { isMounted, scorpio, withMount, type Sandbox } from './_cli.ts'

/** A directory `real` and a symlink `link` to it under the sandbox. */
function realAndLink(box: Sandbox): { real: string; link: string } {
  const real = box.dir('real')
  const link = join(box.root, 'link')
  symlinkSync(real, link)
  return { real, link }
}

async function statusFrom(env: NodeJS.ProcessEnv, where: { dir?: string; cwd?: string }): Promise<unknown> {
  const r = await scorpio(['status', '--json', ...(where.dir ? ['-C', where.dir] : [])], { env, cwd: where.cwd })
  assert.is(r.status, 0, `${JSON.stringify(where)}: ${r.stderr}`)
  return JSON.parse(r.stdout).changes
}

for (const through of ['link', 'real'] as const) {
  test(`mounted through the ${through} path: status -C the real path, -C the symlink, inside the mount; umount by the other path`, async () => {
    await withMount({ count: 4, mountAt: (box) => realAndLink(box)[through] }, async (m) => {
      const real = join(m.box.root, 'real')
      const link = join(m.box.root, 'link')
      await fsp.writeFile(join(m.mnt, 'new.txt'), 'new\n')
      const expected = [{ path: 'new.txt', status: 'added' }]
      assert.equal(await statusFrom(m.env, { dir: real }), expected, '-C real path')
      assert.equal(await statusFrom(m.env, { dir: link }), expected, '-C symlink')
      assert.equal(await statusFrom(m.env, { cwd: join(real, 'src') }), expected, 'inside, by the real path')
      assert.equal(await statusFrom(m.env, { cwd: join(link, 'src') }), expected, 'inside, through the symlink')
      const list = await scorpio(['list', '--json'], { env: m.env })
      assert.is(list.status, 0, list.stderr)
      assert.match(list.stdout, real, 'the live mount is listed')
      // umount by the path the mount was not made through
      const other = through === 'link' ? real : link
      const u = await scorpio(['umount', other], { env: m.env })
      assert.is(u.status, 0, u.stderr)
      assert.is(await m.stop(), 0)
      assert.not.ok(isMounted(real), 'unmounted')
    })
  })
}

test.run()
