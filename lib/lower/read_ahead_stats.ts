// Process-wide counters of read-ahead (for `scorpio stats` and the benchmarks): what was fetched on
// a guess, and how much of it was read since. Waste is what a wrong guess cost.
export interface ReadAheadCounters {
  /** Read-ahead decisions that asked for something. */
  decisions: number
  /** Objects and bytes fetched by read-ahead (not asked for by a reader). */
  objects: number
  bytes: number
  /** Of those bytes, how many were read afterwards. */
  usedBytes: number
}

const counters: ReadAheadCounters = { decisions: 0, objects: 0, bytes: 0, usedBytes: 0 }

export function readAheadCounters(): ReadAheadCounters & { wasteBytes: number } {
  return { ...counters, wasteBytes: counters.bytes - counters.usedBytes }
}

/** For the read-ahead itself. */
export function countReadAhead(change: Partial<ReadAheadCounters>): void {
  for (const k of Object.keys(change) as (keyof ReadAheadCounters)[]) counters[k] += change[k] ?? 0
}
