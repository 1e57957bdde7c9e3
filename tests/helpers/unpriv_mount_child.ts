// Run by tests/fuse/unprivileged.test.ts as an unprivileged user: mounts a MemFs at argv[2] (through
// fusermount3), writes and reads a file there from a shell, unmounts, and prints one JSON line:
// {ok, uid, fuseType, wrote, read, mountedAfter} or {ok: false, error}. With SCORPIO_TEST_ALLOW_OTHER=1
// it asks for allow_other.
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mountFuse } from '../../lib/fuse/mod.ts'
import { MemFs } from './mem_fs.ts'

const mnt = (globalThis as { Deno?: { args: string[] } }).Deno?.args[0] ?? process.argv[2]
const entry = () => readFileSync('/proc/self/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt)
// Async only: this process serves the mount.
const sh = (script: string) => new Promise<string>((resolve, reject) => {
  execFile('sh', ['-c', script], (err, out, errText) => err ? reject(new Error(String(errText) || err.message)) : resolve(String(out)))
})

try {
  const mount = await mountFuse(mnt, new MemFs(), { log: () => {}, allowOther: process.env.SCORPIO_TEST_ALLOW_OTHER === '1' })
  let result: Record<string, unknown>
  try {
    const fuseType = entry()?.split(' ')[2]
    const wrote = await sh(`cd '${mnt}' && echo hello > f.txt && mkdir d && echo deep > d/g.txt && ls -n`)
    const read = await sh(`cat '${mnt}/f.txt' '${mnt}/d/g.txt'`)
    result = { ok: true, uid: process.getuid?.(), fuseType, wrote, read }
  } finally {
    await mount.unmount()
  }
  console.log(JSON.stringify({ ...result, mountedAfter: entry() !== undefined }))
  process.exit(0)
} catch (err) {
  console.log(JSON.stringify({ ok: false, error: (err as Error).message }))
  process.exit(1)
}
