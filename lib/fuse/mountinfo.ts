// What the kernel says is mounted: /proc/self/mountinfo. Here (not in lib/registry, which re-exports
// it) because mounting needs it too and lib/fuse imports nothing of the project.
import { readFileSync } from 'node:fs'

export interface MountInfoEntry {
  mountpoint: string
  fstype: string
  source: string
  /** `major:minor` of the mounted file system's device. */
  dev: string
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
    out.push({ mountpoint: unescape(fields[4]), fstype: fields[dash + 1], source: unescape(fields[dash + 2]), dev: fields[2] })
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
