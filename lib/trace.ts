// Phase timestamps for profiling (SCORPIO_TRACE=1): one stderr line per phase, in ms since the
// process started, CPU ms used so far, the pid and the wall clock (mounts of one cache share a
// log and are told apart and put in one order by these), e.g.
// `scorpio-trace 812.4 cpu 640 pid 4242 at 1796400000123 pack: first bytes`.
// Off (a null check) otherwise.
const on = typeof process !== 'undefined' && !!process.env?.SCORPIO_TRACE

export function trace(what: string): void {
  if (!on) return
  const c = process.cpuUsage()
  process.stderr.write(`scorpio-trace ${performance.now().toFixed(1)} cpu ${((c.user + c.system) / 1000).toFixed(0)} pid ${process.pid} at ${Date.now()} ${what}\n`)
}
