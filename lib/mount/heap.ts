// Heap policy of a long-lived mount process. Between full collections V8 lets the old generation
// grow to up to ~4× what survived the last one; a mount holds a large, stable heap (inode table,
// listings) and serves a stream of short-lived request objects, so a walk of a 100,000-file tree
// peaked at ~3× its live heap. A 1.4× growth factor trades more frequent (incremental) full
// collections for a peak close to the live size. Bun runs JavaScriptCore: nothing to set there.
import { setFlagsFromString } from 'node:v8'

export const HEAP_GROWING_PERCENT = 40

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
