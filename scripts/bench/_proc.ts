// What /proc tells the benches about a process.
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc times (USER_HZ on Linux). */
export const TICKS_PER_SECOND = 100

/**
 * CPU ticks (user + system) `pid` has used so far, or with `children`, those of its children it
 * has waited for (cutime + cstime).
 */
export function cpuTicks(pid: number | 'self', options: { children?: boolean } = {}): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  // Fields after the command name (which may hold spaces): state is [0], utime [11], stime [12],
  // cutime [13], cstime [14].
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const i = options.children ? 13 : 11
  return Number(f[i]) + Number(f[i + 1])
}
