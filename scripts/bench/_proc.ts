// What /proc tells the benches about a process.
import { readdirSync, readFileSync } from 'node:fs'

/** Clock ticks per second of /proc times (USER_HZ on Linux). */
export const TICKS_PER_SECOND = 100

/**
 * CPU ticks (user + system) `pid` has used so far, or with `children`, those of its children it
 * has waited for (cutime + cstime).
 */
export function cpuTicks(pid: number | 'self', options: { children?: boolean } = {}): number {
  return statTicks(`/proc/${pid}/stat`, options.children)
}

/** user + system ticks from a `stat` file of /proc (a process's or a thread's). */
function statTicks(path: string, children = false): number {
  const stat = readFileSync(path, 'utf8')
  // Fields after the command name (which may hold spaces): state is [0], utime [11], stime [12],
  // cutime [13], cstime [14].
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  const i = children ? 13 : 11
  return Number(f[i]) + Number(f[i + 1])
}

/**
 * CPU seconds of each kind of thread of `pid`, by name with digits dropped (Bun: the JS thread is
 * named after the binary, `Bun Pool` runs file I/O, `JITWorker` compiles, `HeapHelper` collects;
 * Node: `node`, `libuv-worker`, `V8 Worker`), largest first.
 */
export function threadCpu(pid: number): [string, number][] {
  const out = new Map<string, number>()
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim().replace(/[\s#]*\d+$/, '')
      out.set(name, (out.get(name) ?? 0) + statTicks(`/proc/${pid}/task/${t}/stat`) / TICKS_PER_SECOND)
    } catch {
      // a thread that ended meanwhile
    }
  }
  return [...out].sort((a, b) => b[1] - a[1])
}
