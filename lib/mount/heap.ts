// Heap policy of a long-lived mount process. Between full collections V8 lets the old generation
// grow to up to ~4× what survived the last one; a mount holds a large, stable heap (inode table,
// listings) and serves a stream of short-lived request objects, so a walk of a 100,000-file tree
// peaked at ~3× its live heap. A 1.4× growth factor trades more frequent (incremental) full
// collections for a peak close to the live size.
//
// Bun runs JavaScriptCore, whose options cannot change once the process runs; a serving process
// that this program starts gets them in its environment (BUN_JSC_*). After a full collection JSC
// lets the heap (live cells plus the ArrayBuffers it was told about) grow to 1 + 3·e^(-x) times
// its size on machines with 16 GB of RAM or more (x: heap / RAM, so ~4× for a mount), 2× below
// that, before the next full one. A mount keeps ~45 MB live and its walks leave old garbage
// behind (listings and parsed trees that outlive a young collection in their LRUs): the binary's
// peak after two walks of the 100k tree was 248-280 MB, with at most 1.4× growth 167-190 MB
// (paired runs, BENCHMARKS.md). The same percent as Node's, same override.
//
// V8 sizes its young generation once, at start: semi-spaces of up to 16 MiB each, all of it
// resident after a walk (32 MB of a 100,000-file mount's RSS) although the requests' garbage dies
// young. Where this program starts the serving process itself (`mount --background`), Node is
// given 4 MiB semi-spaces (SCORPIO_SEMI_SPACE_MB overrides, 0 keeps V8's default).
//
// glibc raises its mmap threshold each time a big mmapped block is freed, after which big buffers
// (the inode table's arrays as they grow, fetched file bodies) come from the heap and are not given
// back: the serving process gets the threshold fixed at glibc's initial 128 KiB instead (11 MB less
// after two walks of the 100k tree, same walk times). glibc also gives each thread that allocates
// (main, two FUSE readers, libuv's pool, V8's helpers) an arena of its own, each keeping what was
// freed in it: with at most 2 arenas, a mount of the 100k tree from cached trees peaked after two
// walks at 150-151 MB instead of 178-200 MB, and after an 8 MB read at 158 MB instead of 199-205 MB,
// walk times unchanged (paired runs, 15:23). A first mount, which fetches the trees, peaks at ~200
// MB either way (its peak is the fetch's JS heap, not malloc). A value already in the environment
// wins, for each variable.
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { setYoungCollector } from '../reclaim.ts'

export const HEAP_GROWING_PERCENT = 40
export const SEMI_SPACE_MB = 4

/** Sets the growth factor (SCORPIO_HEAP_GROWING_PERCENT overrides the default; 0 keeps V8's policy). */
export function boundHeapGrowth(percent = Number(process.env.SCORPIO_HEAP_GROWING_PERCENT ?? HEAP_GROWING_PERCENT)): void {
  if (!(percent > 0)) return
  if ((globalThis as { Bun?: unknown }).Bun) return
  try {
    setFlagsFromString(`--heap-growing-percent=${percent}`)
  } catch {
    // A runtime without V8 flags keeps its default policy.
  }
}

/**
 * Lets a long-lived process collect its young generation after big streams of network buffers
 * (reclaim.ts): an 8 MB blob read then peaks ~8-16 MB lower. Node only: the `gc` function is
 * exposed to a fresh context after the flag is set (SCORPIO_RECLAIM=0 turns this off).
 */
export function collectDeadBuffersEarly(): void {
  if ((globalThis as { Bun?: unknown; Deno?: unknown }).Bun || (globalThis as { Deno?: unknown }).Deno) return
  if (process.env.SCORPIO_RECLAIM === '0') return
  try {
    setFlagsFromString('--expose-gc')
    const gc = runInNewContext('gc') as (options?: { type: 'minor' | 'major' }) => void
    if (typeof gc === 'function') setYoungCollector(() => gc({ type: 'minor' }))
  } catch {
    // A runtime without V8 flags: dead buffers wait for the next collection.
  }
}

/** Runtime flags for a serving process that this one starts (before the script in its argv). */
export function servingProcessFlags(mb = Number(process.env.SCORPIO_SEMI_SPACE_MB ?? SEMI_SPACE_MB)): string[] {
  const g = globalThis as { Bun?: unknown; Deno?: unknown }
  if (g.Bun || g.Deno || !(mb > 0)) return []
  // The user's own choice (flags or NODE_OPTIONS) wins.
  if ([...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('semi-space-size'))) return []
  return [`--max-semi-space-size=${mb}`]
}

/** JavaScriptCore's heap growth for a Bun serving process (Bun reads BUN_JSC_<option> at start). */
export function jscHeapEnv(percent = Number(process.env.SCORPIO_HEAP_GROWING_PERCENT ?? HEAP_GROWING_PERCENT)): NodeJS.ProcessEnv {
  if (!(percent > 0)) return {}
  const factor = String(1 + percent / 100)
  // The first is the factor's excess on big machines, the second the factor below 16 GB of RAM.
  return { BUN_JSC_heapGrowthMaxIncrease: String(percent / 100), BUN_JSC_smallHeapGrowthFactor: factor }
}

/** Bun refuses to start on a BUN_JSC_ variable its JavaScriptCore does not know (a renamed option):
 *  true when a serving process's output says so (then it is started again without them). */
export function jscOptionsRejected(output: string): boolean {
  return output.includes('invalid JSC environment variable')
}

/** Environment for a serving process that this one starts (the same runtime as this one); what
 *  the environment already sets wins. `jsc: false` leaves out the BUN_JSC_ variables. */
export function servingProcessEnv(env: NodeJS.ProcessEnv, options: { bun?: boolean; jsc?: boolean } = {}): NodeJS.ProcessEnv {
  const bun = options.bun ?? Boolean((globalThis as { Bun?: unknown }).Bun)
  const jsc = bun && options.jsc !== false ? jscHeapEnv(Number(env.SCORPIO_HEAP_GROWING_PERCENT ?? HEAP_GROWING_PERCENT)) : {}
  return { MALLOC_MMAP_THRESHOLD_: String(128 * 1024), MALLOC_ARENA_MAX: '2', ...jsc, ...env }
}
