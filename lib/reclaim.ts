// Freeing dead network buffers early. V8 frees the memory of an ArrayBuffer only when it collects
// the object holding it, and it collects the young generation when that fills with JS objects or
// once ~32 MB of buffers held there pile up (twice its default semi-space size, whatever
// --max-semi-space-size says). A big blob streaming in allocates few JS objects per byte: reading
// an 8 MB file left ~16 MB of dead chunks (each byte is received into one buffer and copied into
// another by fetch) resident beside its body. A long-lived process (the mount, antares) installs a
// collector of the young generation (heap.ts: ~1 ms with its 4 MiB semi-spaces); code that streams
// many bytes through short-lived buffers reports them here, and the collector runs after every
// RECLAIM_EVERY of them. Without a collector (other processes, runtimes without one): a no-op.

export const RECLAIM_EVERY = 4 << 20

let collect: (() => void) | null = null
let since = 0

/** Installs (or, with null, removes) the collector of the young generation. */
export function setYoungCollector(fn: (() => void) | null): void {
  collect = fn
  since = 0
}

/** Whether a collector is installed (what `collectDeadBuffersEarly` decided). */
export function hasYoungCollector(): boolean {
  return collect !== null
}

/** Reports `bytes` of short-lived buffers just dropped (received chunks already consumed). */
export function droppedBytes(bytes: number): void {
  if (!collect) return
  since += bytes
  if (since < RECLAIM_EVERY) return
  since = 0
  collect()
}
