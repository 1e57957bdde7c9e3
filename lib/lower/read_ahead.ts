// Read-ahead for a lower view: a cold read brings the files likely read next along in the same
// request, and a walk (dense reads in several directories under one subtree) brings the rest of that
// subtree in the background. The view knows trees and paths; the store only ids (DESIGN.md layering):
// all fetching goes through the store's batching (readBlob's `along`, readAhead).
import type { AheadLedgerLike, BlobReadOptions, ObjectStore, Oid } from '../store/types.ts'
import { AheadLedger } from '../store/ahead_ledger.ts'
import { readTreeSoon } from '../store/tree_soon.ts'
import { countReadAhead } from './read_ahead_stats.ts'

/** The files of one directory listing (shared with the size batching of the view). */
export interface DirGroup {
  oids: Oid[]
  names: string[]
  /** The directory's tree id. */
  dir: Oid
}

export interface ReadAheadOptions {
  /** One line per read-ahead decision (`--debug`). */
  log?: (line: string) => void
  now?: () => number
  /** Objects of a walk's first subtree read-ahead (default WALK_OBJECTS; bytes scale with it). */
  walkObjects?: number
  /** Bytes a walk may fetch ahead before it has read anything (default WASTE_ALLOWANCE). */
  wasteAllowance?: number
}

/** Never fetched ahead: a file larger than this comes only when read. */
export const SIZE_LIMIT = 1 << 20
/** Reads further apart than this are not one walk. */
const WINDOW_MS = 3000
/** Steps after which a walk is confirmed: a subtree larger than the budget is then fetched in part. */
const CONFIRMED = 2
/** A first cold read in a directory brings siblings up to its own size (a wrong guess costs ≤ 1×). */
const FIRST_OBJECTS = 8
/** During a walk: the rest of the directory. */
const DIR_OBJECTS = 2000
const DIR_BYTES = 16 << 20
/** A walk: the subtree, budget four times larger with each further step of the walk. The first is small:
 *  reads in a few sibling directories of a larger one are not yet a walk through all of it. */
const WALK_OBJECTS = 64
const WALK_BYTES = 4 << 20
const WALK_MAX_LEVEL = 4
/** Entries visited when gathering a subtree (a walk of the whole repository stops there). */
const GATHER_MAX = 400_000
/** What a walk may have fetched ahead and not read: this many times what it read, plus the
 *  allowance (a first guess). A sparse walk (a build reading one file in fifty, in tree order) looks
 *  like a walk but would read little of each subtree: its guesses stop once they are not read. */
const WASTE_RATIO = 2
const WASTE_ALLOWANCE = 1 << 20
/**
 * Misses of its own in a row after which a reader that trailed another leads again (reads ahead).
 * One was too few: readers in step take turns being first to a miss, and each new leader's walk
 * starts small (8 mounts reading the same 2,000 files: 1,200 requests and 35 s with 1, 620 and
 * 32 s with 8). A reader that goes elsewhere pays this many round trips before guessing again.
 */
const LEAD_AFTER = 8
/** Ids fetched ahead and not read yet that are tracked for the waste counter. */
const TRACKED_MAX = 200_000

/** For a store without a ledger of its own: one per store, shared by its views in this process. */
const ledgers = new WeakMap<ObjectStore, AheadLedgerLike>()

export class ReadAhead {
  /** The directory of the last cold read (or read of a file fetched ahead), and when. */
  private last: Oid | undefined
  private lastGroup: DirGroup | undefined
  private lastAt = 0
  /** Steps of the walk going on (0: none). */
  private level = 0
  /** Bytes the walk going on read, fetched ahead, and read of what it fetched ahead. */
  private walkRead = 0
  private walkAhead = 0
  private walkUsed = 0
  private covered = new Set<Oid>()
  /**
   * The last miss here found the blob already on its way for another reader (another view of this
   * process, another process of the cache): that reader's read-ahead leads, so this one guesses
   * nothing until a miss of its own finds nobody fetching. Eight mounts reading the same files,
   * each guessing for itself, made the server answer twice the requests.
   */
  private trailing = false
  /** Misses in a row that found nobody fetching (LEAD_AFTER of them end the trailing). */
  private ledMisses = 0
  private running = new Set<Oid>()
  /** Read-aheads under way (settle, never reject). */
  private tasks = new Set<Promise<unknown>>()
  /** Ids read or fetched ahead here (local now): a walk's later gathers skip them. */
  private done = new Set<Oid>()
  /** Fetched ahead, not read yet: id → size. */
  private unread = new Map<Oid, number>()
  private readonly now: () => number

  constructor(
    private readonly store: ObjectStore,
    private readonly root: Oid,
    private readonly options: ReadAheadOptions = {},
    /** Where a directory sits in the view (learned as its listings are built). */
    private readonly parentOf: (dir: Oid) => { parent: Oid; name: string } | undefined = () => undefined,
  ) {
    this.now = options.now ?? Date.now
    let ledger = store.aheadLedger ?? ledgers.get(store)
    if (!ledger) ledgers.set(store, (ledger = new AheadLedger()))
    this.ledger = ledger
  }

  private readonly ledger: AheadLedgerLike

  /** Resolves once every read-ahead started so far has ended (tests, a clean shutdown). */
  async settled(): Promise<void> {
    while (this.tasks.size) await Promise.all([...this.tasks])
  }

  private track(p: Promise<unknown>): void {
    const t = p.catch(() => {}).finally(() => this.tasks.delete(t))
    this.tasks.add(t)
  }

  /** What readBlob needs to read ahead of `oid` of `group`, should it be cold. */
  readOptions(oid: Oid, group: DirGroup): BlobReadOptions {
    let decided = ''
    return {
      asker: this,
      followed: (trailed) => {
        this.ledMisses = trailed ? 0 : this.ledMisses + 1
        if (trailed) this.trailing = true
        else if (this.ledMisses >= LEAD_AFTER) this.trailing = false
      },
      along: () => {
        const { ids, why } = this.coldRead(oid, group)
        decided = why
        return ids
      },
      fetched: (ids) => this.arrived(ids, `${decided} ${this.fileName(oid, group)}`, this.pathOf(group.dir)),
      started: (p) => this.track(p),
    }
  }

  /** After any read of a lower file: a read of something fetched ahead counts as used, and as a step of a walk. */
  noteRead(oid: Oid, group: DirGroup | undefined, size: number): void {
    this.local(oid)
    this.walkRead += size
    this.ledger.noteRead(oid, size)
    const ahead = this.unread.get(oid)
    if (ahead === undefined) return
    this.unread.delete(oid)
    this.walkUsed += Math.min(ahead, size)
    countReadAhead({ usedBytes: Math.min(ahead, size) })
    if (group && group.dir !== this.last) this.step(group)
  }

  /** The ids to fetch along with a cold read of `oid`. */
  private coldRead(oid: Oid, group: DirGroup): { ids: Oid[]; why: string } {
    const walking = this.step(group)
    if (this.trailing) return { ids: [], why: 'trailing' }
    const at = group.oids.indexOf(oid)
    // Tree order is the order walks read a directory in: the files after this one first.
    const order = at < 0 ? group.oids : [...group.oids.slice(at + 1), ...group.oids.slice(0, at)]
    const out: Oid[] = []
    let bytes = 0
    const own = this.store.knownSize?.(oid)
    const [maxObjects, maxBytes] = walking ? [DIR_OBJECTS, Math.min(DIR_BYTES, this.wasteLeft())] : [FIRST_OBJECTS, own ?? 0]
    for (const id of order) {
      if (out.length >= maxObjects) break
      const n = this.store.knownSize?.(id)
      if (n === undefined || n > SIZE_LIMIT || this.unread.has(id)) continue
      if (bytes + n > maxBytes) continue
      bytes += n
      out.push(id)
    }
    return { ids: out, why: walking ? 'walk' : 'cold-read' }
  }

  /**
   * A read in `dir` (cold, or of something fetched ahead). Reads one after the other in nearby
   * directories are a walk: the subtree holding both (their closest common ancestor) is fetched in
   * the background, when it fits the budget, which grows with each step of a walk. Reads in
   * random places meet only high in the tree, in subtrees too large for a first budget.
   * Returns true while a walk goes on.
   */
  private step(group: DirGroup): boolean {
    const dir = group.dir
    const t = this.now()
    if (t - this.lastAt > WINDOW_MS) {
      this.level = 0
      this.last = undefined
      this.lastGroup = undefined
      this.walkRead = this.walkAhead = this.walkUsed = 0
    }
    const prev = this.last
    const prevGroup = this.lastGroup
    this.last = dir
    this.lastGroup = group
    this.lastAt = t
    if (!prev || !this.store.readAhead || this.trailing) return this.level > 0
    const top = prev === dir ? dir : this.commonAncestor(prev, dir)
    if (top === undefined || this.ancestors(top).some((a) => this.covered.has(a)) || this.running.has(top)) return this.level > 0
    const left = this.wasteLeft()
    if (left <= 0) return this.level > 0
    const level = Math.min(this.level, WALK_MAX_LEVEL)
    this.running.add(top)
    const objects = this.options.walkObjects ?? WALK_OBJECTS
    const bytes = Math.min(left, Math.round((WALK_BYTES * objects) / WALK_OBJECTS) << (2 * level))
    // The budget grows only while what was fetched ahead is being read. A walk is confirmed (a
    // subtree larger than the budget is then fetched in part, in walk order) by its guesses being
    // read, or by a step into a child, a sibling or the parent after reading most of the directory
    // left: how tar and grep -r move (one file read in each of many sibling directories is not).
    const grow = this.walkUsed * 2 >= this.walkAhead
    const near = (a: Oid, b: Oid) => this.parentOf(a)?.parent === b || (this.parentOf(a) !== undefined && this.parentOf(a)?.parent === this.parentOf(b)?.parent)
    const readMost = (g: DirGroup | undefined) => !!g && g.oids.filter((o) => this.done.has(o) && !this.unread.has(o)).length * 2 >= g.oids.length
    const confirmed = level >= CONFIRMED || (this.walkAhead > 0 && grow) || ((near(dir, prev) || near(prev, dir)) && readMost(prevGroup))
    this.track(
      this.subtree(top, objects << (2 * level), bytes, confirmed)
        .then((started) => {
          if (started && grow) this.level++
        })
        .catch((err) => this.options.log?.(`scorpio: read-ahead of ${this.pathOf(top)} failed (the reads fetch on their own): ${(err as Error).message}`))
        .finally(() => this.running.delete(top)),
    )
    return this.level > 0
  }

  /** Fetches the uncached files of the subtree at `tree` (depth first, tree order), within budget. */
  private async subtree(tree: Oid, objects: number, bytes: number, partial: boolean): Promise<boolean> {
    // What other readers of the cache fetched ahead and read since the walk began decides what is
    // left to guess with: the processes of one cache are held to one bound, not one each. Asked
    // before the gather: with eight processes, most walks find the bound spent.
    await this.ledger.sync()
    bytes = Math.min(bytes, this.wasteLeft())
    if (bytes <= 0) return false
    const ids: Oid[] = []
    const unsized: Oid[] = []
    const stack = [tree]
    let seen = 0
    // Gathered up to twice the budget: a subtree larger than that is a guess too far for a walk not
    // yet confirmed (then nothing is fetched); a confirmed one takes the budget's worth in walk order.
    while (stack.length && seen < GATHER_MAX && ids.length + unsized.length <= 2 * objects) {
      const t = stack.pop()!
      const entries = await readTreeSoon(this.store, t, { keep: false })
      for (const e of entries) {
        seen++
        if (e.mode === '40000') continue
        if (e.mode === '160000' || this.done.has(e.oid)) continue
        const n = this.store.knownSize?.(e.oid)
        if (n === undefined) unsized.push(e.oid)
        else if (n <= SIZE_LIMIT) ids.push(e.oid)
      }
      for (let k = entries.length - 1; k >= 0; k--) if (entries[k].mode === '40000') stack.push(entries[k].oid)
    }
    if (stack.length && !partial) return false
    if (unsized.length && this.store.cheapSizes) {
      const sizes = await this.store.cheapSizes(unsized)
      for (const oid of unsized) if ((sizes.get(oid) ?? Infinity) <= SIZE_LIMIT) ids.push(oid)
    }
    // One request where it fits (the store's largest batch): a server pays a fixed cost per request
    // (git upload-pack: ~0.3 s of CPU to prepare a pack of a large repository), so parts in
    // parallel cost it more than they save; the read that is waiting goes in its own request.
    // Counted against the cache's bound as soon as chosen, not once fetched: the other processes'
    // walks starting meanwhile see it (with the cache's broker their fetches are quick to start,
    // and eight walks at once, each under a bound not yet spent, fetched twice one's bytes).
    const chosen = (picked: Oid[]) => {
      for (const id of picked) this.ledger.noteAhead(id, this.store.knownSize?.(id) ?? 0)
      void this.ledger.sync()
    }
    const fetched = await this.store.readAhead!(ids, { objects, bytes, chosen, asker: this })
    const got = this.arrived(fetched, 'walk-subtree', this.pathOf(tree))
    if (stack.length === 0 && fetched.length < objects && got < bytes) this.covered.add(tree)
    return true
  }

  /** Bytes the walk may still fetch ahead. */
  private wasteLeft(): number {
    const allowance = this.options.wasteAllowance ?? WASTE_ALLOWANCE
    const own = WASTE_RATIO * this.walkRead + allowance - (this.walkAhead - this.walkUsed)
    return Math.min(own, WASTE_RATIO * this.ledger.read + allowance - this.ledger.unreadBytes)
  }

  /** Counts and logs what a decision brought; returns its bytes. */
  private arrived(ids: Oid[], trigger: string, subtree: string): number {
    let bytes = 0
    for (const id of ids) {
      const n = this.store.knownSize?.(id) ?? 0
      bytes += n
      if (this.unread.size >= TRACKED_MAX) this.unread.delete(this.unread.keys().next().value!)
      this.unread.set(id, n)
      this.ledger.noteAhead(id, n)
      this.local(id)
    }
    this.walkAhead += bytes
    if (ids.length) {
      countReadAhead({ decisions: 1, objects: ids.length, bytes })
      this.options.log?.(`scorpio: read-ahead: trigger=${trigger} subtree=${subtree} objects=${ids.length} bytes=${bytes}`)
    }
    return bytes
  }

  private local(oid: Oid): void {
    if (this.done.size >= TRACKED_MAX) this.done.clear()
    this.done.add(oid)
  }

  private ancestors(dir: Oid): Oid[] {
    const out = [dir]
    for (let p = this.parentOf(dir); p && out.length < 256; p = this.parentOf(p.parent)) out.push(p.parent)
    return out
  }

  private commonAncestor(a: Oid, b: Oid): Oid | undefined {
    const up = new Set(this.ancestors(a))
    return this.ancestors(b).find((x) => up.has(x))
  }

  private pathOf(dir: Oid): string {
    const parts: string[] = []
    for (let p = this.parentOf(dir); p && parts.length < 256; p = this.parentOf(p.parent)) parts.unshift(p.name)
    return '/' + parts.join('/')
  }

  private fileName(oid: Oid, group: DirGroup): string {
    const i = group.oids.indexOf(oid)
    const dir = this.pathOf(group.dir)
    return i < 0 ? oid.slice(0, 12) : `${dir === '/' ? '' : dir}/${group.names[i]}`
  }
}
