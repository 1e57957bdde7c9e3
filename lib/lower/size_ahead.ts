// Sizes ahead of a walk. A `stat` of a lower file needs its size, which only the server knows until
// the file is read; asking per directory costs a `find` one round trip per directory. So a size miss
// sizes a region of the tree in a few large object-info requests: the directories that a walk
// starting there visits next (depth first, tree order, as find, ls -R, grep -r and tar go), within a
// budget of ids. A walk that gets into the second half of the region extends it, four times larger
// each time, so a whole-tree `find` costs O(files / part) requests, while a `grep -r` of one package
// or an `ls -l` of one directory sizes its own neighbourhood and not the whole commit (each id sized
// costs the server CPU: object-info of 5,000 ids is ~0.35 s of git on this machine's 100k repo).
// A size missed outside the region moves the region there, at the scale the walk has reached.
import type { ObjectStore, Oid } from '../store/types.ts'
import { readTreeSoon } from '../store/tree_soon.ts'

/** Ids of a first region (a listing and its neighbours); each extension is four times larger. */
const FIRST_REGION = 500
const MAX_REGION = 1 << 20
/** Ids per size request: the first of a region small (a reader waits for it), then larger. */
const FIRST_PART = 500
const MAX_PART = 5000
/** Requests under way at once (a region's first part may go beyond: a reader waits for it). */
const IN_FLIGHT = 4

export interface SizeAheadHost {
  store: ObjectStore
  /** The view's root tree. */
  root: Oid
  /** Where a directory sits (learned as listings are built), to continue a walk from it. */
  parentOf(dir: Oid): { parent: Oid; name: string } | undefined
  known(oid: Oid): number | undefined
  learn(oid: Oid, size: number): void
}

export class SizeAhead {
  /** The walk's next directories (depth first: the last is next), paused when the budget is spent. */
  private stack: Oid[] = []
  private budget = 0
  private region = FIRST_REGION
  /** Directories of the region's second half: a size wanted there extends the region. */
  private tail = new Set<Oid>()
  private tailFrom = 0
  private gathered = 0
  private part = FIRST_PART
  /** Ids in requests under way. */
  private sizing = new Set<Oid>()
  private inFlight = new Set<Promise<void>>()
  private pumping: Promise<void> | null = null
  private moving: { dir: Oid; done: Promise<void> } | null = null
  private arrival: Promise<void>
  private wake: () => void = () => {}
  /** Bumped by every move of the region: a pump of an older region stops. */
  private generation = 0
  /**
   * The last sizes asked for were all known to the cache, or being asked for, by another process
   * of the cache: its walk leads. Then this one walks no region: a miss asks for its own
   * directory's files only, until a query finds nobody asking. Eight mounts reading the same files
   * each walked and sized the whole tree beside the broker's walk.
   */
  private trailing = false

  constructor(private readonly host: SizeAheadHost) {
    this.arrival = this.nextArrival()
  }

  private nextArrival(): Promise<void> {
    return new Promise((r) => (this.wake = r))
  }

  /** A size known without a request was used in `dir`: a walk reaching the tail extends the region. */
  touch(dir: Oid): void {
    if (this.tail.size && this.tail.has(dir) && !this.trailing) this.extend()
  }

  /**
   * Resolves once `oid` (a file of the directory `dir`) is sized or its request ended. A miss
   * outside the region moves the region to `dir`: its own ids go out in the first request.
   */
  async want(oid: Oid, dir: Oid): Promise<void> {
    if (this.host.known(oid) !== undefined) return
    if (this.tail.has(dir) && !this.trailing) this.extend()
    if (!this.sizing.has(oid)) {
      // Another process of this cache may have learned it: then no region is sized from here (its
      // neighbours would be asked of the server for nothing, as a second mount reads what a first read).
      const local = await this.host.store.cheapSizes?.([oid], { local: true })
      const n = local?.get(oid)
      if (n !== undefined) return this.host.learn(oid, n)
    }
    if (!this.sizing.has(oid) && this.host.known(oid) === undefined) {
      // The listing's other sizes, wanted at the same moment, wait for the same move.
      if (this.moving?.dir !== dir) {
        const done = (this.trailing ? this.sizeDir(dir) : this.moveTo(dir)).finally(() => {
          if (this.moving?.done === done) this.moving = null
        })
        this.moving = { dir, done }
      }
      await this.moving.done
    }
    while (this.sizing.has(oid)) await this.arrival
  }

  /** Ends when every request under way has ended (tests, shutdown). */
  async settled(): Promise<void> {
    while (this.pumping || this.inFlight.size) await Promise.all([this.pumping, ...this.inFlight])
  }

  private extend(): void {
    this.tail.clear()
    this.region = Math.min(this.region * 4, MAX_REGION)
    this.budget += this.region
    this.tailFrom = this.gathered + Math.floor(this.budget / 2)
    void this.pump()
  }

  /** The walk continues from `dir`: its subtree, then its later siblings, then its parent's, up to the root. */
  private async moveTo(dir: Oid): Promise<void> {
    this.generation++
    this.tail.clear()
    const stack: Oid[] = []
    const chain: { parent: Oid; name: string }[] = []
    for (let d = dir, p = this.host.parentOf(d); d !== this.host.root && p && chain.length < 256; d = p.parent, p = this.host.parentOf(d)) chain.push(p)
    for (let i = chain.length - 1; i >= 0; i--) {
      const { parent, name } = chain[i]
      const entries = await readTreeSoon(this.host.store, parent, { keep: false }).catch(() => [])
      for (let k = entries.length - 1; k >= 0 && entries[k].name !== name; k--) if (entries[k].mode === '40000') stack.push(entries[k].oid)
    }
    stack.push(dir)
    this.stack = stack
    this.gathered = 0
    this.budget = this.region
    this.tailFrom = Math.floor(this.region / 2)
    this.part = FIRST_PART
    await this.pump(true)
  }

  /** Asks for the sizes of the files of `dir` not known or asked for (no walk: another reader's leads). */
  private async sizeDir(dir: Oid): Promise<void> {
    const entries = await readTreeSoon(this.host.store, dir, { keep: false }).catch(() => [])
    const ids = entries.filter((e) => e.mode !== '40000' && e.mode !== '160000' && !this.sizing.has(e.oid) && this.host.known(e.oid) === undefined).map((e) => e.oid)
    if (ids.length) this.send(ids)
  }

  /** What a size query told: trailing another reader's walk stops this one's. */
  private followed(trailed: boolean): void {
    if (trailed && !this.trailing) {
      this.generation++
      this.stack = []
      this.tail.clear()
    }
    this.trailing = trailed
  }

  /** Gathers and sends parts while the budget lasts; with `urgent`, resolves once the first part is sent. */
  private pump(urgent = false): Promise<void> {
    const gen = this.generation
    let firstSent: () => void = () => {}
    const first = new Promise<void>((r) => (firstSent = r))
    const run = async () => {
      let part: Oid[] = []
      let urgentLeft = urgent
      const send = async () => {
        if (!part.length) return
        const ids = part
        part = []
        if (!urgentLeft) while (this.inFlight.size >= IN_FLIGHT) await Promise.race(this.inFlight)
        urgentLeft = false
        this.send(ids)
        firstSent()
        this.part = Math.min(this.part * 4, MAX_PART)
      }
      // A tree may still be on its way (a mount answers before its whole tree is in): what is
      // gathered goes before waiting for it, as a reader (`ls` at the root) may be waiting for that.
      const beforeWait = async () => void (this.host.store.treesArriving?.() && (await send()))
      while (this.stack.length && this.budget > 0 && gen === this.generation) {
        const tree = this.stack.pop()!
        const entries = await readTreeSoon(this.host.store, tree, { keep: false, beforeWait }).catch(() => [])
        if (gen !== this.generation) break
        if (this.gathered >= this.tailFrom) this.tail.add(tree)
        for (const e of entries) {
          if (e.mode === '40000' || e.mode === '160000') continue
          // Files already sized count too: a walk through a sized tree is bounded all the same.
          this.gathered++
          this.budget--
          if (!this.sizing.has(e.oid) && this.host.known(e.oid) === undefined) part.push(e.oid)
        }
        for (let k = entries.length - 1; k >= 0; k--) if (entries[k].mode === '40000') this.stack.push(entries[k].oid)
        if (part.length >= this.part) await send()
      }
      await send()
    }
    if (this.pumping && !urgent) return first
    const p = run().finally(() => {
      firstSent()
      if (this.pumping !== p) return
      this.pumping = null
      // An extension that came while this run was sending its last part.
      if (this.stack.length && this.budget > 0 && gen === this.generation) void this.pump()
    })
    this.pumping = p
    return first
  }

  private send(ids: Oid[]): void {
    for (const id of ids) this.sizing.add(id)
    const followed = (trailed: boolean) => this.followed(trailed)
    const p: Promise<void> = (this.host.store.cheapSizes ? this.host.store.cheapSizes(ids, { followed }) : Promise.resolve(new Map<Oid, number>()))
      .then(
        (sizes) => {
          // Keyed by our own id strings, not the reply's (which may be slices of a large text).
          for (const id of ids) {
            const n = sizes.get(id)
            if (n !== undefined) this.host.learn(id, n)
          }
        },
        () => {}, // each waiter then asks for its own directory, and reports a failure itself
      )
      .finally(() => {
        for (const id of ids) this.sizing.delete(id)
        this.inFlight.delete(p)
        const wake = this.wake
        this.arrival = this.nextArrival()
        wake()
      })
    this.inFlight.add(p)
  }
}
