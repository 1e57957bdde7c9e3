// Upper paths longer than the kernel takes in one string. A workspace path may be as long as the
// user's own limit allows (PATH_MAX counts from the caller's directory, and a tree can be deeper
// than that), and the upper directory's own path comes on top: such a path is reached through
// /proc/PID/fd/N/REST, N a directory of the upper opened deep enough (itself reached the same way),
// kept open by path until a structural change at or above it. /proc/PID, not /proc/self: the
// mkfifo/mknod/setfattr commands resolve the same string in their own process.
import { closeSync, constants as C, openSync } from 'node:fs'

/** Bytes a path may take: PATH_MAX (4096 with its NUL) less room for a name or two appended to the
 *  result (a marker, a child of rm -r). */
const LIMIT = 3500

export class LongPaths {
  private readonly fds = new Map<string, number>()
  private readonly prefix = `/proc/${process.pid}/fd/`

  /** `abs`, or an equivalent string short enough for a system call. */
  resolve(abs: string): string {
    if (abs.length * 3 < LIMIT || Buffer.byteLength(abs) < LIMIT) return abs
    // The shallowest directory that leaves a short enough rest: the fewest descriptors.
    let cut = abs.indexOf('/', 1)
    while (cut > 0 && Buffer.byteLength(abs.slice(cut + 1)) >= LIMIT - 32) cut = abs.indexOf('/', cut + 1)
    if (cut < 0) return abs // one name longer than any limit: let the call say ENAMETOOLONG
    const dir = abs.slice(0, cut)
    let fd = this.fds.get(dir)
    if (fd === undefined) {
      fd = openSync(this.resolve(dir), C.O_RDONLY | C.O_DIRECTORY)
      this.fds.set(dir, fd)
    }
    return `${this.prefix}${fd}/${abs.slice(cut + 1)}`
  }

  /**
   * Drops the directories kept at and beneath `abs` (renamed or removed: a descriptor follows the
   * directory, not the path). A call already under way may still use one (asynchronous calls take
   * the string later): they are closed a while after, never reused at once. No `abs`: all.
   */
  forget(abs?: string): void {
    if (this.fds.size === 0) return
    const retired: number[] = []
    for (const [dir, fd] of this.fds) {
      if (abs === undefined || dir === abs || dir.startsWith(abs + '/')) {
        this.fds.delete(dir)
        retired.push(fd)
      }
    }
    if (retired.length) setTimeout(() => retired.forEach((fd) => closeSync(fd)), 30_000).unref()
  }
}
