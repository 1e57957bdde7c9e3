// The real (symlink-free) form of a path without asking a FUSE mount anything: the kernel mounts on
// the real directory, while users name a mountpoint through whatever symlink they like. realpath(3)
// would stat the mount's root (and a hung mount would hang the command), so each step is an lstat
// of an entry in an ordinary directory, a mountpoint listed in mountinfo is taken as a directory
// unvisited, and what lies inside a FUSE mount is kept as written.
import { lstatSync, readlinkSync } from 'node:fs'
import { resolve } from 'node:path'
import { readMountInfo, type MountInfoEntry } from './mountinfo.ts'

/** How many symlinks one path may go through (the kernel's own limit). */
const MAX_LINKS = 40

/** Absolute, symlink-free form of `path` where it can be found that way; else the absolute path. */
export function canonicalPath(path: string, mountinfo: MountInfoEntry[] = readMountInfo()): string {
  const abs = resolve(path)
  const mounts = new Set(mountinfo.map((e) => e.mountpoint))
  const fuse = mountinfo.filter((e) => e.fstype.startsWith('fuse')).map((e) => e.mountpoint)
  const insideFuse = (p: string) => fuse.some((m) => p.startsWith(m === '/' ? m : m + '/'))
  let todo = abs.split('/').filter(Boolean)
  let done = ''
  for (let links = 0; todo.length > 0; ) {
    if (insideFuse(done)) return [done, ...todo].join('/')
    const next = `${done}/${todo[0]}`
    if (!mounts.has(next)) {
      let isLink: boolean
      try {
        isLink = lstatSync(next).isSymbolicLink()
      } catch {
        return [next, ...todo.slice(1)].join('/') // not there (yet): nothing more to resolve
      }
      if (isLink) {
        if (++links > MAX_LINKS) return abs
        let target: string
        try {
          target = readlinkSync(next)
        } catch {
          return abs
        }
        todo = [...resolve(done || '/', target).split('/').filter(Boolean), ...todo.slice(1)]
        done = ''
        continue
      }
    }
    done = next
    todo.shift()
  }
  return done || '/'
}
