// Phase timestamps for profiling (SCORPIO_TRACE=1): one stderr line per phase, in ms since the
// process started and CPU ms used so far, and the pid (mounts of one cache share a log), e.g.
// `scorpio-trace 812.4 cpu 640 pid 4242 pack: first bytes`.
// Off (a null check) otherwise.
const on = typeof process !== 'undefined' && !!process.env?.SCORPIO_TRACE

export function trace(what: string): void {
  if (!on) return
  const c = process.cpuUsage()
  process.stderr.write(`scorpio-trace ${performance.now().toFixed(1)} cpu ${((c.user + c.system) / 1000).toFixed(0)} pid ${process.pid} ${what}\n`)
}
