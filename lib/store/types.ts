// The contract between the layers above (lower, workspace, CLI) and the object store. All object
// access goes through an ObjectStore: callers never fetch or cache on their own (DESIGN.md, style 7).

/** A 40-character lowercase hex SHA-1 object id. */
export type Oid = string

export type ObjectType = 'blob' | 'tree' | 'commit' | 'tag'

const OBJECT_TYPES: ReadonlySet<unknown> = new Set<ObjectType>(['blob', 'tree', 'commit', 'tag'])

/** True for the name of a Git object type (what a header or a peer says is checked with it). */
export function isObjectType(x: unknown): x is ObjectType {
  return OBJECT_TYPES.has(x)
}

/** Git tree entry modes as Git writes them (`40000`, not `040000`). */
export type TreeMode = '100644' | '100755' | '120000' | '40000' | '160000'

export interface TreeEntry {
  mode: TreeMode
  name: string
  oid: Oid
}

export interface Person {
  name: string
  email: string
  /** Seconds since the epoch. */
  timestamp: number
  /** Minutes east of UTC, as Git stores it (+0130 → 90). */
  timezoneOffset: number
}

export interface CommitInfo {
  oid: Oid
  tree: Oid
  parents: Oid[]
  author: Person
  committer: Person
  message: string
}

export interface FetchProgress {
  objects: number
  bytes: number
}

export interface BlobReadOptions {
  /** Called only when the blob must come from the remote: more ids likely read next, fetched in the
   *  same request as a read-ahead (their failure never fails this read). */
  along?: () => Oid[]
  /** The ids of `along` that were missing and have arrived with the blob. */
  fetched?: (oids: Oid[]) => void
  /** Given the fetch of `along` (settles once it is over). */
  started?: (fetch: Promise<unknown>) => void
  /** Who reads (one read-ahead): its own ids in flight are its own guesses, not another's lead. */
  asker?: unknown
  /** Told, after a miss, whether another reader (of this process or of another process of the
   *  cache) was already fetching the blob: its read-ahead is then ahead of this one's. */
  followed?: (trailed: boolean) => void
}

export interface ReadAheadOptions {
  objects?: number
  bytes?: number
  batch?: number
  first?: number
  /** Told the ids about to be fetched (after those stored and those past the budget are left out). */
  chosen?: (oids: Oid[]) => void
  /** Who reads ahead (as BlobReadOptions.asker). */
  asker?: unknown
}

export interface SizeQueryOptions {
  /** Only what is known without the server (this process, the cache's disk and shared sizes). */
  local?: boolean
  /** Told, once the cache's broker answered (or its shared sizes held them all), whether another
   *  process of the cache knew or was already asking for all of them: its walk is ahead of this one's. */
  followed?: (trailed: boolean) => void
}

export interface AheadLedgerLike {
  /** Distinct bytes read. */
  readonly read: number
  /** Bytes fetched ahead and not read yet. */
  readonly unreadBytes: number
  noteRead(oid: Oid, size: number): void
  noteAhead(oid: Oid, size: number): void
  /** Sends what was noted here and takes in what other processes noted. */
  sync(): Promise<void>
}

export interface ObjectStore {
  /** Resolves a branch, tag, `HEAD` or full commit id on the remote to a commit id. */
  resolveRef(ref: string): Promise<Oid>
  /** Ids starting with the hex digits `prefix` (≥ 4) among the remote's ref tips and the objects
   *  stored locally, for abbreviated commit ids. Optional. */
  idsWithPrefix?(prefix: string): Promise<Oid[]>
  /**
   * Makes the commit and every tree under it (no blobs) local. With `rootFirst` it may resolve
   * once the commit and the top levels are local, the rest still arriving: readTree then waits
   * for a tree that is on its way. `from`: a loaded commit close to this one (a checkout's current
   * base): only the trees that differ from it are fetched.
   */
  loadCommit(commit: Oid, options?: { rootFirst?: boolean; from?: Oid }): Promise<CommitInfo>
  readCommit(oid: Oid): Promise<CommitInfo>
  /** Makes the commits up to `depth` generations back from `tip` local, without their trees, in as
   *  few round trips as the remote allows (a walk of `HEAD~N` or `log -n N` then asks nothing more). Optional. */
  loadHistory?(tip: Oid, depth: number): Promise<void>
  /** Makes exactly these trees local (not their subtrees), in as few requests as possible: walks
   *  across many commits' trees (`log PATH`) then read them locally. Optional. */
  loadTrees?(oids: Oid[]): Promise<void>
  /** Entries of a tree; fetched if missing. Entry names were validated on arrival. `keep: false`
   *  when the caller keeps what it needs itself (the parsed entries are then not cached). */
  readTree(oid: Oid, options?: { keep?: boolean }): Promise<TreeEntry[]>
  /** What `readTree` gives when the tree is in memory (parsed, or in a pack held in memory), else
   *  undefined: no I/O, no waiting. Optional. */
  readTreeNow?(oid: Oid, options?: { keep?: boolean }): TreeEntry[] | undefined
  /** True while a commit's trees are being fetched (a readTree may wait for them). */
  treesArriving?(): boolean
  /** Contents of a blob: memory → disk → remote (batched with other misses, single-flight per id). */
  readBlob(oid: Oid, options?: BlobReadOptions): Promise<Uint8Array>
  /** Exact size of a blob, without downloading it where the remote can say. Never a guess. */
  blobSize(oid: Oid): Promise<number>
  /** The size of a blob if known without any I/O (the lower view keeps no sizes of its own). */
  knownSize?(oid: Oid): number | undefined
  /** Sizes of many blobs in as few round trips as possible (for `stat` of a whole directory). */
  blobSizes(oids: Oid[]): Promise<Map<Oid, number>>
  /**
   * Sizes that cost no content download: memory, disk, then the remote's batch size query where it
   * has one (object-info). Ids it cannot size that way are left out. With `local`, nothing is
   * asked of the server: what this cache knows (other processes' answers included).
   */
  cheapSizes?(oids: Oid[], options?: SizeQueryOptions): Promise<Map<Oid, number>>
  /** True when the object is already on local disk (no network). */
  has(oid: Oid): Promise<boolean>
  /** Fetches the missing ones among `oids` in large batches; resolves once all are local. */
  prefetch(oids: Oid[], options?: { onProgress?: (p: FetchProgress) => void }): Promise<FetchProgress>
  /**
   * A read-ahead: fetches the missing ones among `oids` (in order, up to `objects` ids and `bytes`
   * of known sizes) in requests of at most `batch` ids (`first` for the first one, which a reader
   * likely waits for), never failing a reader that waits for one of them (it is asked for again
   * without them). Resolves with the ids fetched; never rejects (a failed request's ids are left
   * out, nothing of it stored). Optional.
   */
  readAhead?(oids: Oid[], options?: ReadAheadOptions): Promise<Oid[]>
  /** What every reader of the cache fetched ahead and read (ahead_ledger.ts): the read-ahead's
   *  waste bound holds for all of them together. Optional. */
  aheadLedger?: AheadLedgerLike
  /** Facts derived from stored objects, by key, shared by every process of the cache (notes.ts). Optional. */
  notes?: { read(key: string): Promise<string[]>; add(key: string, line: string): Promise<void> }
  /** Stores a locally made object (blob, tree, commit) and returns its id. */
  writeObject(type: ObjectType, body: Uint8Array): Promise<Oid>
  readObject(oid: Oid): Promise<{ type: ObjectType; body: Uint8Array }>
}
