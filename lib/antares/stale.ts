// Clearing what a crashed server left behind at a job's mountpoint: a dead FUSE mount (ENOTCONN)
// is lazily unmounted so the directory can be mounted again.
import { spawn } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { resolve } from 'node:path'

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { stdio: 'ignore' })
    child.on('error', () => done(127))
    child.on('close', (code) => done(code ?? 1))
  })
}

/** Mountpoints currently in the mount table (octal escapes of /proc/self/mounts decoded). */
export async function mountedPaths(): Promise<Set<string>> {
  const text = await fsp.readFile('/proc/self/mounts', 'utf8').catch(() => '')
  const out = new Set<string>()
  for (const line of text.split('\n')) {
    const field = line.split(' ')[1]
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))))
  }
  return out
}

export async function isMounted(dir: string): Promise<boolean> {
  return (await mountedPaths()).has(resolve(dir))
}

/** Detaches whatever is mounted at `dir` (lazy: works on dead and busy mounts). True when nothing is left. */
export async function detachMount(dir: string): Promise<boolean> {
  const abs = resolve(dir)
  for (let i = 0; i < 4 && (await isMounted(abs)); i++) {
    if ((await run('umount', ['-l', abs])) !== 0) await run('fusermount3', ['-u', '-z', abs])
  }
  return !(await isMounted(abs))
}
