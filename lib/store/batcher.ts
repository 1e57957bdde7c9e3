// Coalesces object misses: requests arriving within `windowMs` go out as one remote request (split
// in chunks of `maxBatch`, at most `parallel` requests in flight). Single-flight per id.
import type { Oid } from './types.ts'

export interface BatcherOptions {
  windowMs?: number
  maxBatch?: number
  parallel?: number
}

/** Requests beyond `parallel` that only readers' ids may use (a reader never waits behind read-ahead). */
const READER_SLOTS = 2

/** `speculative`: asked for by a read-ahead, not by a reader; `retried`: a reader's second try. */
type Waiter = { resolve: () => void; reject: (e: unknown) => void; speculative: boolean; retried?: boolean }
/** Who asks for an id (a reader's read-ahead, a follower process): see `trails`. */
export interface AskOptions {
  speculative?: boolean
  asker?: unknown
}

export class Batcher {
  private pending = new Map<Oid, Waiter>()
  private inflight = new Map<Oid, { p: Promise<void>; speculative: boolean; asker: unknown }>()
  private timer: ReturnType<typeof setTimeout> | null = null
  private running = 0
  readonly windowMs: number
  readonly maxBatch: number
  readonly parallel: number

  /** `fetchBatch` gets the ids of one request and, among them, those asked for ahead of any read. */
  constructor(private fetchBatch: (oids: Oid[], ahead: Oid[]) => Promise<void>, options: BatcherOptions = {}) {
    this.windowMs = options.windowMs ?? 3
    this.maxBatch = options.maxBatch ?? 2000
    this.parallel = options.parallel ?? 4
  }

  /**
   * Resolves once `oid` has been fetched (and stored by `fetchBatch`). A speculative request (read-
   * ahead) never makes a reader fail: a reader whose id failed in a batch holding speculative ids,
   * or joined a speculative fetch that failed, is asked for again without them.
   */
  request(oid: Oid, options: AskOptions = {}): Promise<void> {
    const speculative = options.speculative ?? false
    const existing = this.inflight.get(oid)
    if (existing) return existing.speculative && !speculative ? existing.p.catch(() => this.request(oid, { asker: options.asker })) : existing.p
    const p = new Promise<void>((resolve, reject) => {
      this.pending.set(oid, { resolve, reject, speculative })
    })
    this.inflight.set(oid, { p, speculative, asker: options.asker })
    p.then(
      () => this.inflight.delete(oid),
      () => this.inflight.delete(oid),
    )
    this.arm()
    return p
  }

  /** True when `oid` is pending or in flight. */
  has(oid: Oid): boolean {
    return this.inflight.has(oid)
  }

  /**
   * True when `oid` is pending or in flight for another asker than `asker`: whoever asked first is
   * ahead of this reader (its read-ahead, or a process of the cache reading the same files).
   */
  trails(oid: Oid, asker: unknown): boolean {
    const f = this.inflight.get(oid)
    return f !== undefined && f.asker !== asker
  }

  /** Many at once: chunks go out immediately. */
  requestMany(oids: Oid[], options: AskOptions = {}): Promise<void[]> {
    const ps = oids.map((o) => this.request(o, options))
    this.flush()
    return Promise.all(ps)
  }

  private arm(): void {
    if (this.pending.size >= this.maxBatch) this.flush()
    else if (!this.timer) this.timer = setTimeout(() => this.flush(), this.windowMs)
  }

  /**
   * Sends what is pending while there are free slots, readers' ids first. Without a free slot the
   * ids wait and coalesce: a request ending sends them, so many misses arriving while requests are
   * in flight (64 processes reading at once) go out as one batch, not one each.
   */
  private flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = null
    while (this.pending.size > 0 && this.running < this.parallel + READER_SLOTS) {
      const any = this.running < this.parallel
      const batch = new Map<Oid, Waiter>()
      for (const [k, v] of this.pending) {
        if (batch.size >= this.maxBatch) break
        if (!v.speculative) batch.set(k, v)
      }
      if (any) {
        for (const [k, v] of this.pending) {
          if (batch.size >= this.maxBatch) break
          if (v.speculative) batch.set(k, v)
        }
      }
      if (batch.size === 0) break
      for (const k of batch.keys()) this.pending.delete(k)
      this.send(batch)
    }
  }

  private send(batch: Map<Oid, Waiter>): void {
    this.running++
    const ahead: Oid[] = []
    for (const [k, w] of batch) if (w.speculative) ahead.push(k)
    this.fetchBatch([...batch.keys()], ahead).then(
      () => {
        for (const w of batch.values()) w.resolve()
      },
      (err) => {
        const mixed = [...batch.values()].some((w) => w.speculative)
        for (const [oid, w] of batch) {
          if (!mixed || w.speculative || w.retried) w.reject(err)
          else this.pending.set(oid, { ...w, retried: true })
        }
      },
    ).finally(() => {
      this.running--
      this.flush()
    })
  }
}
