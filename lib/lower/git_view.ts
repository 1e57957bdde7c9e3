// The lower layer: a lazy, read-only view of one commit's tree. Trees are made local at open
// (store.loadCommit); file contents and sizes come through the store on first use.
import { LRUCache } from 'lru-cache'
import { UsageError } from '../errors.ts'
import type { ObjectStore, Oid, TreeEntry } from '../store/types.ts'
import { ReadAhead, type DirGroup, type ReadAheadOptions } from './read_ahead.ts'
import { splitPath, walkPath, type LowerEntry, type LowerView } from './types.ts'

/** lru-cache's get() makes an options object per call unless it is given one (a walk calls it
 *  for every entry): a shared one, never read back. */
const GET = {}

/** Files of one directory listing share a group, so one `blobSizes` call sizes them all (and a
 *  read-ahead knows the directory of a file). */
interface SizeGroup extends DirGroup {
  pending?: Promise<void>
}

export interface OpenLowerOptions {
  /** Mount only this subdirectory of the commit's tree. */
  path?: string
  /** Read ahead of cold reads (a mount); off for one-off readers (commands, prefetch). */
  readAhead?: ReadAheadOptions
}

export function entryFromGit(mode: string, oid: Oid, group?: SizeGroup): LowerEntry {
  switch (mode) {
    case '40000':
    case '040000':
      return { kind: 'dir', perm: 0o755, oid, mode: '40000' }
    case '100755':
      return { kind: 'file', perm: 0o755, oid, mode, ref: group }
    case '120000':
      return { kind: 'symlink', perm: 0o777, oid, mode, ref: group }
    case '160000':
      return { kind: 'submodule', perm: 0o755, oid, mode }
    default:
      return { kind: 'file', perm: 0o644, oid, mode: '100644', ref: group }
  }
}

/** Blob ids per size request when sizing a whole commit ahead of need: the first part small
 *  (a walk waits for it), the next ones four times larger up to the last size, several under way
 *  at once so that the walk (one request per part, not per directory) never waits on the network
 *  once the first parts are in: a 1,000,000-file commit is ~50 parts, ~13 round trips. */
const BULK_SIZE_FIRST = 500
const BULK_SIZE_BATCH = 20_000
const BULK_IN_FLIGHT = 4

/** Directory listings kept built. A walk touches each directory's listing in a burst (its READDIR
 *  and the lookups of its entries) and the kernel caches what it saw, so a bounded set suffices; an
 *  evicted listing is rebuilt from the store's tree on demand. Unbounded, a 100,000-file tree kept
 *  ~92k Maps alive (~60 MB); 4,096 still made every listing live long enough to become old garbage. */
const LISTINGS_KEPT = 1024

export class GitLowerView implements LowerView {
  readonly root: LowerEntry
  private readonly listings = new LRUCache<Oid, Map<string, LowerEntry>>({ max: LISTINGS_KEPT })
  /** Sizes, only for a store that does not remember them (see known()). */
  private readonly sizes = new Map<Oid, number>()
  private bulkSizes?: Promise<void>
  private bulkDone = false
  /** Settles when the next part of the bulk sizing is in (or the bulk is over). */
  private bulkStep: Promise<void> = Promise.resolve()
  private wakeStep: () => void = () => {}
  private readonly readAhead?: ReadAhead

  constructor(
    readonly store: ObjectStore,
    readonly commit: Oid,
    readonly mtimeMs: number,
    rootTree: Oid,
    options: { readAhead?: ReadAheadOptions } = {},
  ) {
    this.root = { kind: 'dir', perm: 0o755, oid: rootTree, mode: '40000' }
    if (options.readAhead) this.readAhead = new ReadAhead(store, rootTree, options.readAhead)
  }

  async list(dir: LowerEntry): Promise<Map<string, LowerEntry>> {
    if (dir.kind !== 'dir' || !dir.oid) return new Map()
    const cached = this.listCached(dir)
    if (cached) return cached
    // The listing built here is what stays; the parsed entries need no cache of their own.
    return this.build(dir.oid, await this.store.readTree(dir.oid, { keep: false }))
  }

  /** `list` without I/O: a listing kept, or built from a tree the store holds in memory. */
  listCached(dir: LowerEntry): Map<string, LowerEntry> | undefined {
    if (dir.kind !== 'dir' || !dir.oid) return undefined
    const kept = this.listings.get(dir.oid, GET)
    if (kept || !this.store.readTreeNow) return kept
    let entries: TreeEntry[] | undefined
    try {
      entries = this.store.readTreeNow(dir.oid, { keep: false })
    } catch {
      return undefined // list() reports it
    }
    return entries && this.build(dir.oid, entries)
  }

  private build(oid: Oid, entries: TreeEntry[]): Map<string, LowerEntry> {
    const group: SizeGroup = { oids: [], names: [], dir: oid }
    const out = new Map<string, LowerEntry>()
    for (const e of entries) {
      const entry = entryFromGit(e.mode, e.oid, group)
      if (entry.kind === 'file' || entry.kind === 'symlink') group.oids.push(e.oid), group.names.push(e.name)
      else if (entry.kind === 'dir') this.readAhead?.noteDir(oid, e.name, e.oid)
      out.set(e.name, entry)
    }
    this.listings.set(oid, out)
    return out
  }

  /** Resolves once the read-aheads started so far have ended. */
  readAheadSettled(): Promise<void> {
    return this.readAhead?.settled() ?? Promise.resolve()
  }

  knownSize(entry: LowerEntry): number | undefined {
    if (entry.kind === 'dir' || entry.kind === 'submodule' || !entry.oid) return 0
    return this.known(entry.oid)
  }

  lookupPath(path: string): Promise<LowerEntry | undefined> {
    return walkPath(this, path)
  }

  /** A size known without I/O: the store remembers sizes for every view (one table); a store
   *  without that keeps them here. */
  private known(oid: Oid): number | undefined {
    return this.store.knownSize ? this.store.knownSize(oid) : this.sizes.get(oid)
  }

  private learn(oid: Oid, n: number): void {
    if (!this.store.knownSize) this.sizes.set(oid, n)
  }

  async size(entry: LowerEntry): Promise<number> {
    if (entry.kind === 'dir' || entry.kind === 'submodule' || !entry.oid) return 0
    const known = this.known(entry.oid)
    if (known !== undefined) return known
    if (this.bulkSizes) {
      // The parts arrive in the order a walk visits the directories: wait for the part holding
      // this id, not for the whole commit.
      while (!this.bulkDone) {
        await this.bulkStep
        const n = this.known(entry.oid)
        if (n !== undefined) return n
      }
    } else if (this.store.cheapSizes) {
      // The first size miss answers its own directory at once and starts sizing the whole commit
      // in a few large requests, so a walk (find, ls -lR, a build) does not cost a request per directory.
      this.nextStep()
      this.bulkSizes = this.sizeEverything((entry.ref as SizeGroup | undefined)?.dir).finally(() => {
        this.bulkDone = true
        this.wakeStep()
      })
    }
    const group = entry.ref as SizeGroup | undefined
    if (group && group.oids.length > 1) {
      group.pending ??= this.store.blobSizes(group.oids).then((m) => {
        for (const [oid, n] of m) this.learn(oid, n)
      })
      try {
        await group.pending
      } catch (e) {
        group.pending = undefined
        throw e
      }
      const n = this.known(entry.oid)
      if (n !== undefined) return n
    }
    const n = await this.store.blobSize(entry.oid)
    this.learn(entry.oid, n)
    return n
  }

  /** Wakes the size() calls waiting for the bulk sizing to move on. */
  private nextStep(): void {
    const wake = this.wakeStep
    this.bulkStep = new Promise((r) => (this.wakeStep = r))
    wake()
  }

  /**
   * Sizes every blob of the commit, a part at a time as the trees are walked (no list of all ids):
   * directories in the order `find` or `ls -R` visit them (depth first, entries in tree order), a
   * part's request under way while the walk gathers the next one. The subtree of `first` (the
   * directory of the first miss: where an `ls -lR` or `find` starts) goes first, in a part of its own.
   */
  private async sizeEverything(first?: Oid): Promise<void> {
    const inFlight = new Set<Promise<void>>()
    let failed: unknown
    try {
      let part: Oid[] = []
      let batch = BULK_SIZE_FIRST
      const flush = async (ids: Oid[]) => {
        const sizes = await this.store.cheapSizes!(ids)
        // Keyed by our own id strings, not the reply's (which may be slices of a large text).
        for (const oid of ids) {
          const n = sizes.get(oid)
          if (n !== undefined) this.learn(oid, n)
        }
        this.nextStep()
      }
      const send = async (ids: Oid[]) => {
        while (inFlight.size >= BULK_IN_FLIGHT) await Promise.race(inFlight)
        if (failed) throw failed
        const p: Promise<void> = flush(ids).then(
          () => void inFlight.delete(p),
          (e) => {
            inFlight.delete(p)
            failed ??= e
          },
        )
        inFlight.add(p)
      }
      // FIRST_DONE marks the end of the first subtree: its part goes out then, however small.
      const FIRST_DONE = ''
      const stack: Oid[] = first && first !== this.root.oid ? [this.root.oid!, FIRST_DONE, first] : [this.root.oid!]
      let inMemory = 0
      while (stack.length) {
        const oid = stack.pop()!
        if (oid === FIRST_DONE) {
          if (part.length) await send(part)
          part = []
          continue
        }
        let entries = this.store.readTreeNow?.(oid, { keep: false })
        if (!entries) entries = await this.store.readTree(oid, { keep: false })
        // Trees read from memory never wait: let requests in now and then.
        else if (++inMemory % 1000 === 0) await new Promise((r) => setImmediate(r))
        for (const e of entries) if (e.mode !== '40000' && e.mode !== '160000' && this.known(e.oid) === undefined) part.push(e.oid)
        for (let k = entries.length - 1; k >= 0; k--) if (entries[k].mode === '40000') stack.push(entries[k].oid)
        if (part.length >= batch) {
          await send(part)
          part = []
          batch = Math.min(batch * 4, BULK_SIZE_BATCH)
        }
      }
      if (part.length) await send(part)
    } catch {
      // Sizing ahead is an optimisation: each miss still asks for its own directory.
    }
    await Promise.all(inFlight)
  }

  async read(entry: LowerEntry): Promise<Uint8Array> {
    if (!entry.oid || (entry.kind !== 'file' && entry.kind !== 'symlink')) return new Uint8Array(0)
    const group = entry.ref as SizeGroup | undefined
    const ra = this.readAhead
    const body = await this.store.readBlob(entry.oid, ra && group ? ra.readOptions(entry.oid, group) : undefined)
    this.learn(entry.oid, body.length)
    ra?.noteRead(entry.oid, group, body.length)
    return body
  }

  isLocal(entry: LowerEntry): Promise<boolean> {
    if (!entry.oid || (entry.kind !== 'file' && entry.kind !== 'symlink')) return Promise.resolve(true)
    return this.store.has(entry.oid)
  }

  fromGit(mode: string, oid: Oid): LowerEntry {
    return entryFromGit(mode, oid)
  }
}

/** Opens the read-only view of `commit` (optionally of one subdirectory of it). */
export async function openLower(
  store: ObjectStore,
  commit: Oid,
  options: OpenLowerOptions = {},
): Promise<GitLowerView> {
  // A mount answers as soon as the top of the tree is here; deeper trees are read as they arrive.
  const info = await store.loadCommit(commit, { rootFirst: true })
  const mtimeMs = info.committer.timestamp * 1000
  const sub = splitPath(options.path ?? '')
  let view = new GitLowerView(store, commit, mtimeMs, info.tree, sub.length ? {} : options)
  if (sub.length > 0) {
    const entry = await view.lookupPath(sub.join('/'))
    if (!entry || entry.kind !== 'dir' || !entry.oid) {
      throw new UsageError(
        `Path "${sub.join('/')}" is not a directory in commit ${commit.slice(0, 12)}; give --path a directory of the repository`,
      )
    }
    view = new GitLowerView(store, commit, mtimeMs, entry.oid, options)
  }
  return view
}
