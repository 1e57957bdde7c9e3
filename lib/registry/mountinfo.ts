// What the kernel says is mounted: /proc/self/mountinfo, and whether a process is still alive.
import { readFileSync } from 'node:fs'

export interface MountInfoEntry {
  mountpoint: string
  fstype: string
  source: string
}

/** Undoes the octal escapes mountinfo uses for space, tab, newline and backslash. */
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = []
  for (const line of text.split('\n')) {
    if (!line) continue
    const fields = line.split(' ')
    const dash = fields.indexOf('-', 6)
    if (dash < 0 || fields.length < dash + 3) continue
    out.push({ mountpoint: unescape(fields[4]), fstype: fields[dash + 1], source: unescape(fields[dash + 2]) })
  }
  return out
}

export function readMountInfo(file = '/proc/self/mountinfo'): MountInfoEntry[] {
  try {
    return parseMountInfo(readFileSync(file, 'utf8'))
  } catch {
    return []
  }
}

/** The FUSE mount at exactly `mountpoint` (the last one when stacked), if any. */
export function fuseMountAt(mountpoint: string, entries = readMountInfo()): MountInfoEntry | undefined {
  let found: MountInfoEntry | undefined
  for (const e of entries) {
    if (e.mountpoint === mountpoint) found = e
  }
  return found && found.fstype.startsWith('fuse') ? found : undefined
}

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
