// What the kernel says is mounted (/proc/self/mountinfo, parsed in lib/fuse), and whether a process is still alive.
import { readFileSync } from 'node:fs'
import { readMountInfo } from '../fuse/mountinfo.ts'

export { fuseMountAt, parseMountInfo, readMountInfo, type MountInfoEntry } from '../fuse/mountinfo.ts'

export function isMountedAt(mountpoint: string, entries = readMountInfo()): boolean {
  return entries.some((e) => e.mountpoint === mountpoint)
}

/** True when `pid` runs (a zombie, dead but not yet reaped, counts as dead). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false
  try {
    process.kill(pid, 0)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    return true
  }
}

/** The process start time (clock ticks since boot, /proc/PID/stat field 22): tells a reused pid apart. */
export function pidStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return rest[19]
  } catch {
    return undefined
  }
}
