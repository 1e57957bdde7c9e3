// Read-ahead for a lower view: a cold read brings the files likely read next along in the same
// request, and a walk (dense reads in several directories under one subtree) brings the rest of that
// subtree in the background. The view knows trees and paths; the store only ids (DESIGN.md layering):
// all fetching goes through the store's batching (readBlob's `along`, readAhead).
import type { BlobReadOptions, ObjectStore, Oid } from '../store/types.ts'
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
}

/** Never fetched ahead: a file larger than this comes only when read. */
export const SIZE_LIMIT = 1 << 20
/** Reads in one directory within WINDOW_MS that make it "read densely" (a walk passes through). */
const DENSE_READS = 2
const WINDOW_MS = 3000
/** A first cold read in a directory brings siblings up to its own size (a wrong guess costs ≤ 1×). */
const FIRST_OBJECTS = 8
/** A directory read densely: the rest of it. */
const DIR_OBJECTS = 2000
const DIR_BYTES = 16 << 20
/** A confirmed walk: the subtree, budget doubling with each further step of the walk. */
const WALK_OBJECTS = 2000
const WALK_BYTES = 32 << 20
const WALK_MAX_LEVEL = 5
/** Entries visited when gathering a subtree (a walk of the whole repository stops there). */
const GATHER_MAX = 400_000
/** Ids fetched ahead and not read yet that are tracked for the waste counter. */
const TRACKED_MAX = 200_000

export class ReadAhead {
  private parents = new Map<Oid, { parent: Oid; name: string }>()
  private recent = new Map<Oid, { reads: number; at: number }>()
  private dense: Oid[] = []
  private denseAt = 0
  private level = 0
  private covered = new Set<Oid>()
  private running = new Set<Oid>()
  /** Fetched ahead, not read yet: id → size. */
  private unread = new Map<Oid, number>()
  private readonly now: () => number

  constructor(
    private readonly store: ObjectStore,
    private readonly root: Oid,
    private readonly options: ReadAheadOptions = {},
  ) {
    this.now = options.now ?? Date.now
  }

  /** Called as listings are built: how to name a directory and find its ancestors. */
  noteDir(parent: Oid, name: string, child: Oid): void {
    if (child !== this.root) this.parents.set(child, { parent, name })
  }

  /** What readBlob needs to read ahead of `oid` of `group`, should it be cold. */
  readOptions(oid: Oid, group: DirGroup): BlobReadOptions {
    let decided = ''
    return {
      along: () => {
        const { ids, why } = this.coldRead(oid, group)
        decided = why
        return ids
      },
      fetched: (ids) => this.arrived(ids, `${decided} ${this.fileName(oid, group)}`, this.pathOf(group.dir)),
    }
  }

  /** After any read of a lower file: a read of something fetched ahead counts as used, and as a step of a walk. */
  noteRead(oid: Oid, group: DirGroup | undefined, size: number): void {
    const ahead = this.unread.get(oid)
    if (ahead === undefined) return
    this.unread.delete(oid)
    countReadAhead({ usedBytes: Math.min(ahead, size) })
    if (group) this.touch(group.dir)
  }

  /** The ids to fetch along with a cold read of `oid`. */
  private coldRead(oid: Oid, group: DirGroup): { ids: Oid[]; why: string } {
    const isDense = this.touch(group.dir)
    const at = group.oids.indexOf(oid)
    // Tree order is the order walks read a directory in: the files after this one first.
    const order = at < 0 ? group.oids : [...group.oids.slice(at + 1), ...group.oids.slice(0, at)]
    const out: Oid[] = []
    let bytes = 0
    const own = this.store.knownSize?.(oid)
    const [maxObjects, maxBytes] = isDense ? [DIR_OBJECTS, DIR_BYTES] : [FIRST_OBJECTS, own ?? 0]
    for (const id of order) {
      if (out.length >= maxObjects) break
      const n = this.store.knownSize?.(id)
      if (n === undefined || n > SIZE_LIMIT || this.unread.has(id)) continue
      if (bytes + n > maxBytes) continue
      bytes += n
      out.push(id)
    }
    return { ids: out, why: isDense ? 'walk in directory' : 'cold read' }
  }

  /** A read in `dir`; true once the directory is read densely (then it may be a step of a walk). */
  private touch(dir: Oid): boolean {
    const t = this.now()
    const r = this.recent.get(dir)
    const reads = r && t - r.at <= WINDOW_MS ? r.reads + 1 : 1
    this.recent.delete(dir)
    this.recent.set(dir, { reads, at: t })
    if (this.recent.size > 1024) this.recent.delete(this.recent.keys().next().value!)
    if (reads !== DENSE_READS) return reads > DENSE_READS
    this.walkStep(dir, t)
    return true
  }

  /** A directory newly read densely: with another one before it, the walk covers their common ancestor. */
  private walkStep(dir: Oid, t: number): void {
    if (t - this.denseAt > WINDOW_MS) (this.dense = []), (this.level = 0)
    this.denseAt = t
    const prev = this.dense[this.dense.length - 1]
    if (!this.dense.includes(dir)) this.dense.push(dir)
    if (this.dense.length > 16) this.dense.shift()
    if (!prev || prev === dir || !this.store.readAhead) return
    const top = this.commonAncestor(prev, dir)
    if (top === undefined || this.ancestors(top).some((a) => this.covered.has(a)) || this.running.has(top)) return
    const level = Math.min(this.level++, WALK_MAX_LEVEL)
    this.running.add(top)
    void this.subtree(top, WALK_OBJECTS << level, WALK_BYTES << level)
      .catch((err) => this.options.log?.(`scorpio: read-ahead of ${this.pathOf(top)} failed (the reads fetch on their own): ${(err as Error).message}`))
      .finally(() => this.running.delete(top))
  }

  /** Fetches the uncached files of the subtree at `tree` (depth first, tree order), within budget. */
  private async subtree(tree: Oid, objects: number, bytes: number): Promise<void> {
    const ids: Oid[] = []
    const unsized: Oid[] = []
    const stack = [tree]
    let seen = 0
    while (stack.length && seen < GATHER_MAX) {
      const t = stack.pop()!
      const entries = this.store.readTreeNow?.(t, { keep: false }) ?? (await this.store.readTree(t, { keep: false }))
      for (const e of entries) {
        seen++
        if (e.mode === '40000') continue
        if (e.mode === '160000' || this.unread.has(e.oid)) continue
        const n = this.store.knownSize?.(e.oid)
        if (n === undefined) unsized.push(e.oid)
        else if (n <= SIZE_LIMIT) ids.push(e.oid)
      }
      for (let k = entries.length - 1; k >= 0; k--) if (entries[k].mode === '40000') stack.push(entries[k].oid)
    }
    if (unsized.length && this.store.cheapSizes) {
      const sizes = await this.store.cheapSizes(unsized)
      for (const oid of unsized) if ((sizes.get(oid) ?? Infinity) <= SIZE_LIMIT) ids.push(oid)
    }
    // Large requests, several in flight; the first small, as a reader likely waits for it.
    const batch = Math.max(64, Math.min(2000, Math.ceil(Math.min(ids.length, objects) / 4)))
    const fetched = await this.store.readAhead!(ids, { objects, bytes, batch, first: 64 })
    const got = this.arrived(fetched, 'walk', this.pathOf(tree))
    if (stack.length === 0 && fetched.length < objects && got < bytes) this.covered.add(tree)
  }

  /** Counts and logs what a decision brought; returns its bytes. */
  private arrived(ids: Oid[], trigger: string, subtree: string): number {
    let bytes = 0
    for (const id of ids) {
      const n = this.store.knownSize?.(id) ?? 0
      bytes += n
      if (this.unread.size >= TRACKED_MAX) this.unread.delete(this.unread.keys().next().value!)
      this.unread.set(id, n)
    }
    if (ids.length) {
      countReadAhead({ decisions: 1, objects: ids.length, bytes })
      this.options.log?.(`scorpio: read-ahead: trigger=${trigger} subtree=${subtree} objects=${ids.length} bytes=${bytes}`)
    }
    return bytes
  }

  private ancestors(dir: Oid): Oid[] {
    const out = [dir]
    for (let p = this.parents.get(dir); p && out.length < 256; p = this.parents.get(p.parent)) out.push(p.parent)
    return out
  }

  private commonAncestor(a: Oid, b: Oid): Oid | undefined {
    const up = new Set(this.ancestors(a))
    return this.ancestors(b).find((x) => up.has(x))
  }

  private pathOf(dir: Oid): string {
    const parts: string[] = []
    for (let p = this.parents.get(dir); p && parts.length < 256; p = this.parents.get(p.parent)) parts.unshift(p.name)
    return '/' + parts.join('/')
  }

  private fileName(oid: Oid, group: DirGroup): string {
    const i = group.oids.indexOf(oid)
    const dir = this.pathOf(group.dir)
    return i < 0 ? oid.slice(0, 12) : `${dir === '/' ? '' : dir}/${group.names[i]}`
  }
}
