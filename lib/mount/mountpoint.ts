// Checks a mountpoint before mounting: an existing empty directory, or a stale FUSE mount (its
// process died: ENOTCONN) which is cleaned up first with a notice. Anything else: one clear error.
import { spawnSync } from 'node:child_process'
import { promises as fsp } from 'node:fs'
import { resolve } from 'node:path'
import { ScorpioError } from '../errors.ts'
import { dropRecord, findMount, fuseMountAt } from '../registry/mod.ts'

export class MountpointError extends ScorpioError {
  constructor(message: string) {
    super('mountpoint', message)
  }
}

/** Unmounts `dir`: plain umount, then fusermount3 -u, then a lazy umount. True when nothing is mounted there afterwards. */
export function detachMount(dir: string): boolean {
  const attempts: [string, string[]][] = [
    ['umount', [dir]],
    ['fusermount3', ['-u', dir]],
    ['umount', ['-l', dir]],
    ['fusermount3', ['-u', '-z', dir]],
  ]
  for (const [cmd, args] of attempts) {
    if (!fuseMountAt(dir)) return true
    spawnSync(cmd, args, { stdio: 'ignore', timeout: 10_000 })
  }
  return !fuseMountAt(dir)
}

async function statErrno(dir: string): Promise<{ code?: string; isDir?: boolean }> {
  try {
    const st = await fsp.stat(dir)
    return { isDir: st.isDirectory() }
  } catch (err) {
    return { code: (err as NodeJS.ErrnoException).code ?? 'EIO' }
  }
}

export interface PrepareOptions {
  /** Called with a one-line notice (e.g. the stale mount that was cleaned). */
  notice?: (line: string) => void
}

/** Returns the real (symlink-free) mountpoint once it is an empty directory ready to mount on. */
export async function prepareMountpoint(mountpoint: string, options: PrepareOptions = {}): Promise<string> {
  const dir = resolve(mountpoint)
  let st = await statErrno(dir)
  if (st.code === 'ENOTCONN' || st.code === 'ECONNABORTED' || (st.code && fuseMountAt(dir))) {
    if (!detachMount(dir)) throw new MountpointError(`Cannot clean up the stale mount at "${mountpoint}"; run umount -l "${dir}" as root`)
    const old = findMount(dir, { includeStale: true })
    if (old) dropRecord(old)
    options.notice?.(`cleaned up a stale mount at "${mountpoint}" (its process had died)`)
    st = await statErrno(dir)
  }
  if (st.code === 'ENOENT') throw new MountpointError(`Mountpoint "${mountpoint}" does not exist; create it with mkdir -p "${mountpoint}"`)
  if (st.code) throw new MountpointError(`Cannot use mountpoint "${mountpoint}" (${st.code})`)
  if (!st.isDir) throw new MountpointError(`Mountpoint "${mountpoint}" is not a directory`)
  const live = fuseMountAt(dir)
  if (live) {
    const rec = findMount(dir)
    const who = rec ? ` by scorpio (pid ${rec.pid})` : ` (${live.fstype})`
    throw new MountpointError(`"${mountpoint}" is already mounted${who}; run scorpio umount "${mountpoint}" first`)
  }
  const entries = await fsp.readdir(dir)
  if (entries.length > 0) throw new MountpointError(`Mountpoint "${mountpoint}" is not empty; mount on an empty directory`)
  // The kernel lists the mount under its real path: the registry must name it so, however it was given.
  return fsp.realpath(dir)
}
