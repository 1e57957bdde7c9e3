// Coalesces object misses: requests arriving within `windowMs` go out as one remote request (split
// in chunks of `maxBatch`, at most `parallel` requests in flight). Single-flight per id.
import type { Oid } from './types.ts'

export interface BatcherOptions {
  windowMs?: number
  maxBatch?: number
  parallel?: number
}

type Waiter = { resolve: () => void; reject: (e: unknown) => void }

export class Batcher {
  private pending = new Map<Oid, Waiter[]>()
  private inflight = new Map<Oid, Promise<void>>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private running = 0
  private queue: (() => void)[] = []
  readonly windowMs: number
  readonly maxBatch: number
  readonly parallel: number

  constructor(private fetchBatch: (oids: Oid[]) => Promise<void>, options: BatcherOptions = {}) {
    this.windowMs = options.windowMs ?? 3
    this.maxBatch = options.maxBatch ?? 2000
    this.parallel = options.parallel ?? 4
  }

  /** Resolves once `oid` has been fetched (and stored by `fetchBatch`). */
  request(oid: Oid): Promise<void> {
    const existing = this.inflight.get(oid)
    if (existing) return existing
    const p = new Promise<void>((resolve, reject) => {
      this.pending.set(oid, [{ resolve, reject }])
    })
    this.inflight.set(oid, p)
    p.then(
      () => this.inflight.delete(oid),
      () => this.inflight.delete(oid),
    )
    if (this.pending.size >= this.maxBatch) this.flush()
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.windowMs)
    return p
  }

  /** Many at once: chunks go out immediately. */
  requestMany(oids: Oid[]): Promise<void[]> {
    const ps = oids.map((o) => this.request(o))
    this.flush()
    return Promise.all(ps)
  }

  private flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    while (this.pending.size > 0) {
      const batch = new Map<Oid, Waiter[]>()
      for (const [k, v] of this.pending) {
        batch.set(k, v)
        this.pending.delete(k)
        if (batch.size >= this.maxBatch) break
      }
      this.schedule(batch)
    }
  }

  private schedule(batch: Map<Oid, Waiter[]>): void {
    const go = () => {
      this.running++
      this.fetchBatch([...batch.keys()]).then(
        () => {
          for (const ws of batch.values()) for (const w of ws) w.resolve()
        },
        (err) => {
          for (const ws of batch.values()) for (const w of ws) w.reject(err)
        },
      ).finally(() => {
        this.running--
        this.queue.shift()?.()
      })
    }
    if (this.running < this.parallel) go()
    else this.queue.push(go)
  }
}
