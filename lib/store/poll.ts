// One poll for every wait of a process on what other processes of the cache are doing (their
// fetches, their size queries). A wait per reader, each polling the disk every 25 ms, cost eight
// mounts reading the same files at once ~20 s of CPU each in 100 s of waiting: every poll lists the
// packs directory and the claims. Here all waits share one round per tick, and the tick slows down
// (25 ms → 200 ms) while nothing it waits for ends, as a remote fetch takes hundreds of ms anyway.

const FIRST_MS = 25
const MAX_MS = 200

interface Wait<K> {
  keys: Set<K>
  /** Keys whose holder went away without the result: the waiter takes them over. */
  orphaned: K[]
  resolve: (orphaned: K[]) => void
  reject: (err: unknown) => void
}

export class SharedPoll<K> {
  private waits = new Set<Wait<K>>()
  private running = false

  /**
   * `round` looks at all keys waited for at once and tells which are done (result present) and
   * which are orphaned (nobody holds them any longer and the result is absent).
   */
  constructor(private readonly round: (keys: K[]) => Promise<{ done: Set<K>; orphaned: Set<K> }>) {}

  /** Resolves with the keys that were orphaned once none of `keys` is held by anybody. */
  wait(keys: K[]): Promise<K[]> {
    if (!keys.length) return Promise.resolve([])
    return new Promise<K[]>((resolve, reject) => {
      this.waits.add({ keys: new Set(keys), orphaned: [], resolve, reject })
      if (!this.running) void this.run()
    })
  }

  private async run(): Promise<void> {
    this.running = true
    let delay = FIRST_MS
    try {
      while (this.waits.size) {
        await new Promise((r) => setTimeout(r, delay))
        const all = new Set<K>()
        for (const w of this.waits) for (const k of w.keys) all.add(k)
        let result: { done: Set<K>; orphaned: Set<K> }
        try {
          result = await this.round([...all])
        } catch (err) {
          for (const w of this.waits) w.reject(err)
          this.waits.clear()
          break
        }
        let progress = false
        for (const w of [...this.waits]) {
          for (const k of w.keys) {
            if (result.done.has(k)) w.keys.delete(k), (progress = true)
            else if (result.orphaned.has(k)) w.keys.delete(k), w.orphaned.push(k), (progress = true)
          }
          if (!w.keys.size) {
            this.waits.delete(w)
            w.resolve(w.orphaned)
          }
        }
        delay = progress ? FIRST_MS : Math.min(delay * 2, MAX_MS)
      }
    } finally {
      this.running = false
    }
  }
}
