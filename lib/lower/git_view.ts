// The lower layer: a lazy, read-only view of one commit's tree. Trees are made local at open
// (store.loadCommit); file contents and sizes come through the store on first use.
import { LRUCache } from 'lru-cache'
import { UsageError } from '../errors.ts'
import type { ObjectStore, Oid, TreeEntry } from '../store/types.ts'
import { readTreeSoon } from '../store/tree_soon.ts'
import { ReadAhead, type DirGroup, type ReadAheadOptions } from './read_ahead.ts'
import { SizeAhead } from './size_ahead.ts'
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
  /** Where each directory listed so far sits (a tree id shared by several places: one of them). */
  private readonly parents = new Map<Oid, { parent: Oid; name: string }>()
  private readonly sizeAhead?: SizeAhead
  private readonly readAhead?: ReadAhead
  /** The read-aheads of other readers of this view (antares jobs), each its own walk. */
  private readonly readAheads = new WeakMap<object, ReadAhead>()
  private readonly readAheadOptions?: ReadAheadOptions
  private readonly parentOf = (dir: Oid) => this.parents.get(dir)

  constructor(
    readonly store: ObjectStore,
    readonly commit: Oid,
    readonly mtimeMs: number,
    rootTree: Oid,
    options: { readAhead?: ReadAheadOptions } = {},
  ) {
    this.root = { kind: 'dir', perm: 0o755, oid: rootTree, mode: '40000' }
    const parentOf = this.parentOf
    if (options.readAhead) this.readAhead = new ReadAhead(store, rootTree, options.readAhead, parentOf)
    this.readAheadOptions = options.readAhead
    if (store.cheapSizes) {
      this.sizeAhead = new SizeAhead({ store, root: rootTree, parentOf, known: (oid) => this.known(oid), learn: (oid, n) => this.learn(oid, n) })
    }
  }

  async list(dir: LowerEntry): Promise<Map<string, LowerEntry>> {
    if (dir.kind !== 'dir' || !dir.oid) return new Map()
    const kept = this.listings.get(dir.oid, GET)
    if (kept) return kept
    // The listing built here is what stays; the parsed entries need no cache of their own.
    return this.build(dir.oid, await readTreeSoon(this.store, dir.oid, { keep: false }))
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
      else if (entry.kind === 'dir' && e.oid !== this.root.oid) this.parents.set(e.oid, { parent: oid, name: e.name })
      out.set(e.name, entry)
    }
    this.listings.set(oid, out)
    return out
  }

  /** Resolves once the read-aheads the view started for its own reads so far have ended (tests). */
  readAheadSettled(): Promise<void> {
    return this.readAhead?.settled() ?? Promise.resolve()
  }

  knownSize(entry: LowerEntry): number | undefined {
    if (entry.kind === 'dir' || entry.kind === 'submodule' || !entry.oid) return 0
    const n = this.known(entry.oid)
    if (n !== undefined && this.sizeAhead) {
      const dir = (entry.ref as SizeGroup | undefined)?.dir
      if (dir) this.sizeAhead.touch(dir)
    }
    return n
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
    const group = entry.ref as SizeGroup | undefined
    const known = this.known(entry.oid)
    if (known !== undefined) {
      if (group) this.sizeAhead?.touch(group.dir)
      return known
    }
    if (this.sizeAhead && group) {
      await this.sizeAhead.want(entry.oid, group.dir)
      const n = this.known(entry.oid)
      if (n !== undefined) return n
    }
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

  async read(entry: LowerEntry, reader?: object): Promise<Uint8Array> {
    if (!entry.oid || (entry.kind !== 'file' && entry.kind !== 'symlink')) return new Uint8Array(0)
    const group = entry.ref as SizeGroup | undefined
    const ra = reader ? this.readAheadOf(reader) : this.readAhead
    const body = await this.store.readBlob(entry.oid, ra && group ? ra.readOptions(entry.oid, group) : undefined)
    this.learn(entry.oid, body.length)
    ra?.noteRead(entry.oid, group, body.length)
    return body
  }

  /** `reader`'s own read-ahead: 32 jobs reading through one walk detector looked like reads all over the tree. */
  private readAheadOf(reader: object): ReadAhead | undefined {
    if (!this.readAhead) return undefined
    let ra = this.readAheads.get(reader)
    if (!ra) this.readAheads.set(reader, (ra = new ReadAhead(this.store, this.root.oid!, this.readAheadOptions, this.parentOf)))
    return ra
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
