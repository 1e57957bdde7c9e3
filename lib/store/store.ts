// The object store of one remote: memory LRU → disk object DB → remote (batched, single-flight).
// Implements the ObjectStore contract (types.ts) plus push, gc and pins.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import { IntegrityError, RemoteError } from '../errors.ts'
import { trace } from '../trace.ts'
import { createLock, holderGone, holderText, removeLockIf } from '../registry/holder.ts'
import { parseCommit } from '../git/commit.ts'
import { EMPTY_BLOB_OID, bytesToHex, hashObject, isOid } from '../git/sha1.ts'
import { checkTree, parseTree } from '../git/tree.ts'
import { MemoryPackTarget, TYPE_NAMES, targetView, type PackTarget } from '../git/pack_reader.ts'
import { PackWorker } from '../git/pack_worker.ts'
import { META, VOUCHED } from '../git/pack_scan.ts'
import type { RawObject, Remote, RemoteRef } from '../remote/types.ts'
import { Batcher } from './batcher.ts'
import { DiskObjectDb, LIST_FRESH_MS, type StoredObject } from './disk.ts'
import { SizeTable } from './size_table.ts'
import { SharedRecords } from './shared_records.ts'
import { AheadLedger } from './ahead_ledger.ts'
import { FlightClaims } from './flight.ts'
import { BrokerGone, FetchBroker, type Brought, type HandedObject, type Serve } from './broker.ts'
import { SizeFlight } from './size_flight.ts'
import { IdList } from './packs.ts'
import { Notes } from './notes.ts'
import { gcDb, type GcResult } from './gc.ts'
import { allPinned, pinObjects, unpinObjects } from './pins.ts'
import { pushCommit, type PushResult } from './push.ts'
import type { BlobReadOptions, CommitInfo, FetchProgress, ObjectStore, ObjectType, Oid, ReadAheadOptions, SizeQueryOptions, TreeEntry } from './types.ts'

/** lru-cache's get() makes an options object per call unless it is given one (a walk calls it
 *  for every entry): a shared one, never read back. */
const GET = {}

export interface StoreOptions {
  memoryBytes?: number
  /** Batching window for misses, in ms (default 3). */
  batchWindowMs?: number
  /** Max ids per remote request (default 2000). */
  maxBatch?: number
  /** Remote requests in flight at once (default 4). */
  parallel?: number
  /**
   * Parse the packs of a commit's tree fetch in a worker thread (pack_worker.ts), so that two
   * cores share the work. Off by default (SCORPIO_PACK_WORKER=1 turns it on): on the 100k tree it
   * takes ~40% of the CPU off the main thread, but the process uses more CPU in all (a second
   * isolate, its cold JIT) and ~30 MB more peak RSS, and on this 2-core machine, where the git
   * server needs the other core, the wall time did not improve; see BENCHMARKS.md, issue 3.
   */
  packWorker?: boolean
  /**
   * Fetch through the cache's broker (broker.ts) when another process of the cache is one, or
   * become it. On by default; SCORPIO_BROKER=0 turns it off (claims on disk only), for comparison.
   */
  broker?: boolean
}

/** Prefetched ids remembered until read, for the read-ahead waste of `scorpio stats`. */
const AHEAD_MAX = 200_000

/** Bytes of objects a broker hands over in one answer (the rest the follower reads from disk). */
const HAND_MAX_BYTES = 4 * 1024 * 1024

/** Commits per history fetch when a walk reaches a commit not stored yet (only commits: no trees). */
const HISTORY_BATCH = 100
/** Rounds of waiting for other processes' size queries before asking the server regardless. */
const MAX_SIZE_ROUNDS = 3

/**
 * Levels of trees brought by one request for the trees a checkout's target does not share with the
 * current commit (`combine:tree:N+blob:none`): fewer round trips for a few unchanged sibling trees
 * more. On babel's HEAD~200 (trees changed 9 levels deep): 9 requests at 1, 2 at 5.
 */
const CHANGED_TREE_LEVELS = 5

/** Parallel requests for the trees below the top levels of a commit. */
const TREE_FETCH_PARALLEL = 3

/**
 * Cross-process single-flight of a commit's tree load: `loaded/<commit>.lock` (holder.ts) names the
 * loading process; the others poll for the `loaded/<commit>` marker. The holder touches the lock
 * every LOCK_BEAT_MS; a lock of a dead process (same host) or untouched for LOCK_STALE_MS is taken over.
 */
const LOCK_POLL_MS = 25
const LOCK_BEAT_MS = 2000
const LOCK_STALE_MS = 20000

/** A server that cannot serve a staged fetch (filter, want of a tree) rather than a broken one. */
function refused(err: unknown): boolean {
  const code = (err as { code?: string }).code
  return err instanceof RemoteError && (code === 'no-filter' || code === 'remote-error' || code === 'http' || code === 'protocol')
}

export class Store implements ObjectStore {
  readonly remote: Remote
  readonly db: DiskObjectDb
  private mem: LRUCache<Oid, StoredObject>
  /** Parsed trees for readers that keep nothing themselves (workspace commands); the lower view
   *  keeps its own listings and reads with `keep: false`. */
  private trees = new LRUCache<Oid, TreeEntry[]>({ max: 4096 })
  /** Sizes of a 1,000,000-file commit and some history fit (~50 MB at 1M ids, at most ~100 MB). */
  private sizes = new SizeTable(2_000_000)
  /** Sizes the server told any process of this cache. */
  private shared: SharedRecords
  readonly aheadLedger: AheadLedger
  /** Which process of the cache fetches which object. */
  private flight: FlightClaims
  /** The process of the cache that fetches for the others (null: this one fetches for itself). */
  private broker: FetchBroker | null
  private sizeFlight: SizeFlight
  /** Size queries of this process under way, by id (settle, never reject). */
  private sizing = new Map<Oid, Promise<unknown>>()
  /** Ids a reader here asked the broker for while another process was already fetching them (read once by readObjectKept). */
  private trailedAtBroker = new Set<Oid>()
  private batcher: Batcher
  private loading = new Map<Oid, { top: Promise<CommitInfo>; all: Promise<CommitInfo>; wantTop: () => void }>()
  /** Tree fetches in flight (settle, never reject): a tree missing on disk may be on its way. */
  private treeLoads = new Set<Promise<void>>()
  /** The top trees of a commit whose other trees are still arriving (verified; stored with them). */
  private provisional = new Map<Oid, StoredObject>()
  private wakeArrival: () => void = () => {}
  private arrival = new Promise<void>((r) => (this.wakeArrival = r))
  private refs: { at: number; refs: RemoteRef[] } | null = null
  /** Levels of trees per request of a checkout's changed trees; 1 once the server refused `combine:`. */
  private treeLevels = CHANGED_TREE_LEVELS
  /** Commits-only history fetches in flight, by the commit they start from. */
  private histories = new Map<Oid, Promise<void>>()
  /** Remote requests made by this store (for tests and stats). */
  stats = {
    requests: 0,
    objectsFetched: 0,
    bytesFetched: 0,
    /** Objects this process waited for while another process of the cache fetched them. */
    objectsShared: 0,
    /** Objects this process fetched, or found stored, for other processes of the cache (as their broker). */
    objectsServed: 0,
    /** Object reads answered from memory, from disk, or after a fetch (here or by another process). */
    memoryHits: 0,
    diskHits: 0,
    serverHits: 0,
    /** Blob sizes the server told this process, and those another process had told the cache. */
    sizesFromServer: 0,
    sizesShared: 0,
    /** Blob sizes other processes of the cache asked this one for (as their broker). */
    sizesServed: 0,
    /** Blobs fetched ahead of any read (prefetch), and their bytes. */
    prefetchedObjects: 0,
    prefetchedBytes: 0,
  }
  private readonly packWorker: boolean
  /** Ids fetched ahead of a read and not read since (bounded: past it, waste is undercounted). */
  private ahead = new Set<Oid>()

  readonly notes: Notes

  constructor(remote: Remote, db: DiskObjectDb, options: StoreOptions = {}) {
    this.remote = remote
    this.db = db
    this.packWorker = options.packWorker ?? process.env.SCORPIO_PACK_WORKER === '1'
    const maxSize = options.memoryBytes ?? 64 * 1024 * 1024
    this.mem = new LRUCache<Oid, StoredObject>({
      maxSize,
      maxEntrySize: Math.max(1, Math.floor(maxSize / 4)),
      sizeCalculation: (v) => Math.max(1, v.body.length),
    })
    this.batcher = new Batcher((oids, ahead) => this.fetchAndStore(oids, ahead), {
      windowMs: options.batchWindowMs,
      maxBatch: options.maxBatch,
      parallel: options.parallel,
    })
    db.onCorrupt = (oid) => this.mem.delete(oid)
    // Every size the file brings is one this process need not ask for: counted as shared.
    this.shared = new SharedRecords(join(db.dir, 'sizes'), (oid, n) => {
      if (this.sizes.get(oid) === undefined) this.stats.sizesShared++
      this.sizes.set(oid, n)
    })
    this.aheadLedger = new AheadLedger(join(db.dir, 'ahead'))
    this.flight = new FlightClaims(db.dir, (ids) => db.hasMany(ids))
    this.notes = new Notes(join(db.dir, 'notes'))
    this.sizeFlight = new SizeFlight(db.dir)
    const brokered = (options.broker ?? process.env.SCORPIO_BROKER !== '0') && process.platform === 'linux'
    this.broker = brokered ? new FetchBroker(db.dir, (oids, ahead, asker) => this.serveFollower(oids, ahead, asker), (oids) => this.serveSizes(oids)) : null
  }

  /** A follower's size query: what this process knows, then what it learns the way it learns its own. */
  private async serveSizes(oids: Oid[]): Promise<{ sizes: Map<Oid, number>; trailed: boolean }> {
    this.stats.sizesServed += oids.length
    const out = new Map<Oid, number>()
    const todo = this.knownSizes(oids, out)
    const trailed = todo.every((o) => this.sizing.has(o))
    if (todo.length) await this.askSizes(todo, out)
    return { sizes: out, trailed }
  }

  /** A follower's batch, joined to this process's own requests; tells which ids could not be fetched. */
  private async serveFollower(oids: Oid[], ahead: Set<Oid>, asker: unknown): ReturnType<Serve> {
    const trailed = oids.filter((o) => !ahead.has(o) && this.batcher.trails(o, asker))
    const settled = await Promise.allSettled(oids.map((o) => this.batcher.request(o, { speculative: ahead.has(o), asker })))
    const failed: Oid[] = []
    let error: unknown
    settled.forEach((r, i) => {
      if (r.status === 'rejected') failed.push(oids[i]), (error ??= r.reason)
    })
    this.stats.objectsServed += oids.length
    // What a reader waits for goes along when it is at hand in memory: the follower then neither
    // looks for it on disk nor reads it from there. Named, the packs are taken in by the follower
    // without listing the directory (packs.ts adopt).
    const objects: HandedObject[] = []
    let handed = 0
    const packs = new Set<string>()
    for (const o of oids) {
      const m = ahead.has(o) || failed.length ? undefined : (this.mem.get(o, GET) ?? this.db.readNow(o))
      if (m && handed + m.body.length <= HAND_MAX_BYTES) {
        objects.push({ oid: o, type: m.type, body: m.body })
        handed += m.body.length
        continue
      }
      const name = this.db.packs.locate(o)?.pack.name
      if (name) packs.add(name)
    }
    return { failed, error, packs: [...packs], objects, trailed }
  }

  /**
   * Sizes of `todo` from what other processes learned, then from the remote's size query (what it
   * tells is shared in turn); returns the ids still unknown. Ids this process is already asking for
   * (a broker serving a follower's query while asking for its own) are waited for, not asked twice.
   */
  private async askSizes(todo: Oid[], out: Map<Oid, number>, followed?: (trailed: boolean) => void): Promise<Oid[]> {
    const waits = new Set<Promise<unknown>>()
    const mine = todo.filter((o) => {
      const w = this.sizing.get(o)
      if (w) waits.add(w)
      return !w
    })
    let unknown: Oid[] = []
    if (mine.length) {
      const run = this.askSizesOnce(mine, out, followed)
      const settled = run.catch(() => {})
      for (const o of mine) this.sizing.set(o, settled)
      try {
        unknown = await run
      } finally {
        for (const o of mine) if (this.sizing.get(o) === settled) this.sizing.delete(o)
      }
    }
    if (waits.size) {
      await Promise.all(waits)
      const asked = new Set(mine)
      for (const o of todo) {
        if (asked.has(o)) continue
        const s = this.sizes.get(o)
        if (s !== undefined) out.set(o, s)
        else unknown.push(o)
      }
    }
    return unknown
  }

  private async askSizesOnce(todo: Oid[], out: Map<Oid, number>, followed?: (trailed: boolean) => void): Promise<Oid[]> {
    const fromShared = async (ids: Oid[]) => {
      await this.shared.refresh()
      const rest = ids.filter((o) => {
        const s = this.sizes.get(o)
        if (s !== undefined) out.set(o, s)
        return s === undefined
      })
      return rest
    }
    todo = await fromShared(todo)
    // Sizes another process learned and shared: its walk is ahead of the asker's.
    if (!todo.length) followed?.(true)
    if (!todo.length || !this.remote.objectSizes) return todo
    // The cache's broker answers for every process: one query, no announcements on disk to poll.
    const link = await this.broker?.route()
    if (link) {
      try {
        trace(`store: asking the cache's broker for the sizes of ${todo.length} objects`)
        const { sizes: told, trailed } = await link.sizes(todo)
        followed?.(trailed)
        this.stats.sizesShared += told.size
        for (const [o, n] of told) out.set(o, n), this.sizes.set(o, n)
        return todo.filter((o) => !told.has(o))
      } catch (err) {
        if (!(err instanceof BrokerGone)) throw err
        trace(`store: ${(err as Error).message}; asking for sizes here`)
      }
    }
    followed?.(false)
    // Ids another process is asking for are waited for, then read from the shared file. What is
    // still unknown then is claimed again: an announcement lists ids its holder left to an earlier
    // one, and those are still on their way. After a few rounds (holders failing) they are asked here.
    // An announcement goes as soon as its own answer is in, never later: held while waiting for
    // another's, two processes each waiting for ids the other announced waited for each other until
    // the announcements aged out (2 minutes; 7 of 8 bench mounts stalled so).
    const unknown: Oid[] = []
    for (let round = 0; todo.length; round++) {
      if (round === MAX_SIZE_ROUNDS) {
        unknown.push(...(await this.querySizes(todo, out)))
        break
      }
      const { mine, others, waitOthers, release } = await this.sizeFlight.claim(todo)
      if (others.length) trace(`store: waiting for the sizes of ${others.length} objects another process is asking for`)
      try {
        const theirs = others.length ? waitOthers() : Promise.resolve()
        theirs.catch(() => {})
        // A holder that added its answer and went between the first look at the shared file and
        // the claim is seen now: its announcement was gone, its sizes are in the file.
        const ask = mine.length ? await fromShared(mine) : []
        if (ask.length) unknown.push(...(await this.querySizes(ask, out)))
        await release()
        await theirs
      } catch (err) {
        await release()
        throw err
      }
      todo = others.length ? await fromShared(others) : []
    }
    return unknown
  }

  /** Sizes from the server; what it tells goes to the shared file. Returns the ids it did not size. */
  private async querySizes(todo: Oid[], out: Map<Oid, number>): Promise<Oid[]> {
    this.stats.requests++
    const t0 = performance.now()
    // Keyed by our own ids: the reply's keys are slices of its whole text and would keep it alive.
    const remote = await this.remote.objectSizes!(todo)
    trace(`store: sized ${todo.length} objects in ${(performance.now() - t0).toFixed(0)} ms`)
    const learned: [Oid, number][] = []
    todo = todo.filter((o) => {
      const s = remote.get(o)
      if (s !== undefined) out.set(o, s), this.sizes.set(o, s), learned.push([o, s])
      return s === undefined
    })
    this.stats.sizesFromServer += learned.length
    await this.shared.add(learned)
    return todo
  }

  /**
   * Runs one remote fetch into a new pack (or loose files for a handful of objects): `check` sees
   * each verified object as it arrives and may throw; `done` runs after the last one. Any error
   * drops everything received: nothing is stored.
   */
  private async receive(
    /** Runs the fetch(es); `target()` gives a fresh view of the one pack being written (one per stream). */
    run: (target: () => PackTarget) => Promise<void>,
    expected: number,
    /** The object is `b[start .. end)`. */
    check: (oid: Oid, type: ObjectType, b: Uint8Array, start: number, end: number) => void,
    done: () => void,
    /** For a pack: runs over the sorted index before it is put in place; may throw. */
    verify?: (has: (b: Uint8Array, at: number) => boolean) => void,
    /**
     * When `check` of a tree is exactly `checkTree` with its directory ids added to this list:
     * trees the pack worker vouched for (pack_scan.ts) are not checked again, their ids are
     * added in bulk.
     */
    vouched?: IdList,
  ): Promise<void> {
    // A few objects are likely read next (a miss); a big batch is a prefetch: keep it on disk only.
    const keep: [Oid, StoredObject][] | null = expected <= 256 ? [] : null
    const note = (oid: Oid, type: ObjectType, b: Uint8Array, start: number, end: number) => {
      check(oid, type, b, start, end)
      if (type === 'blob') this.sizes.set(oid, end - start)
      this.stats.bytesFetched += end - start
      this.stats.objectsFetched++
      if (keep && end - start < 65536) keep.push([oid, { type, body: Uint8Array.prototype.slice.call(b, start, end) as Uint8Array }])
    }
    const remember = () => {
      if (keep) for (const [oid, o] of keep) this.mem.set(oid, o)
    }
    if (expected < 8) {
      const t = new MemoryPackTarget()
      const base = { add: (oid: Oid, type: ObjectType, body: Uint8Array, owned?: boolean) => (note(oid, type, body, 0, body.length), t.add(oid, type, body, owned)), get: (n: number) => t.get(n), find: (o: Oid) => t.find(o), get count() { return t.count } }
      await run(() => targetView(base))
      done()
      if (verify) {
        const ids = new Set(t.objects.map((o) => o.oid))
        verify((b, at) => ids.has(Buffer.from(b.subarray(at, at + 20)).toString('hex')))
      }
      await this.db.writeMany(t.objects)
      // The target holds its own copy of each object: those go to memory as they are, whatever
      // their size (a big blob read on a miss is then not read back from disk and inflated again).
      if (keep) for (const o of t.objects) this.mem.set(o.oid, o)
      return
    }
    const w = await this.db.packs.begin()
    try {
      const base: PackTarget & { readonly count: number } = {
        add: (oid, type, body, owned) => (note(oid, type, body, 0, body.length), w.add(oid, type, body, owned)),
        // Small whole objects arrive as records (`type size\0body`) and go to the pack as they are.
        addRecord: (oid, id, typeCode, rec, start, bodyAt, end) => (note(oid, TYPE_NAMES[typeCode], rec, bodyAt, end), w.addRecord(oid, id, typeCode, rec, start, bodyAt, end)),
        // A batch of the pack worker: per object only what the worker did not vouch for.
        addBlock: (block) => {
          const { n, meta, ids, data } = block
          for (let k = 0, e = 0; k < n; k++, e += META) {
            if (vouched && meta[e] === 2 + VOUCHED) {
              this.stats.bytesFetched += meta[e + 4] - meta[e + 3]
              this.stats.objectsFetched++
            } else note(bytesToHex(ids, k * 20, k * 20 + 20), TYPE_NAMES[meta[e] & 7], data, meta[e + 3], meta[e + 4])
          }
          vouched?.addMany(block.subtrees, block.nSubtrees)
          return w.addBlock(block)
        },
        get: (n) => w.get(n),
        find: (o) => w.find(o),
        get count() {
          return w.count
        },
      }
      await run(() => targetView(base))
      done()
      await w.commit(verify)
      trace(`store: pack of ${w.count} objects in place`)
    } catch (err) {
      await w.abort()
      throw err
    }
    remember()
  }

  /** Feeds an array reply (backends without streaming) to a target. */
  private static async feed(objs: Promise<RawObject[]>, target: PackTarget): Promise<void> {
    for (const o of await objs) {
      const r = target.add(o.oid, o.type, o.body)
      if (r) await r
    }
  }

  /**
   * Fetches `oids` once across every process of the cache: through the cache's broker when
   * another process is one; otherwise (or for what the broker did not bring) the ones this process
   * claims it fetches (minus any that another process stored meanwhile), the others it waits for;
   * what their holder failed to bring is claimed again. `ahead`: ids asked for ahead of any read.
   */
  private async fetchAndStore(oids: Oid[], ahead: Oid[] = []): Promise<void> {
    let todo = oids
    const link = await this.broker?.route()
    if (link) {
      let brought: Brought = { packs: [], objects: [], trailed: [] }
      try {
        brought = await link.fetch(oids, ahead)
      } catch (err) {
        if (!(err instanceof BrokerGone)) throw err
        trace(`store: ${(err as Error).message}; fetching here`)
      }
      // Bounded: an id noted here and read by no readObjectKept (a reader that gave up) stays.
      if (this.trailedAtBroker.size > 4096) this.trailedAtBroker.clear()
      for (const o of brought.trailed) this.trailedAtBroker.add(o)
      // An object handed over counts once its bytes hash to its id: then it is as good as stored.
      const asked = new Set(oids)
      for (const o of brought.objects) {
        if (!asked.has(o.oid) || hashObject(o.type, o.body) !== o.oid) continue
        asked.delete(o.oid)
        // A copy found corrupt here is replaced with the good one (the broker may not know it is bad).
        if (this.db.knownCorrupt(o.oid)) await this.db.write(o.oid, o.type, o.body)
        this.mem.set(o.oid, { type: o.type, body: o.body })
        if (o.type === 'blob') this.sizes.set(o.oid, o.body.length)
      }
      const rest = oids.length === asked.size ? oids : [...asked]
      await this.db.packs.adopt(brought.packs)
      // Whatever the broker answered, what is not stored now is fetched here (the directory is
      // listed only when something is not found in the packs it named, or loose).
      let stored = rest.length ? await this.db.hasMany(rest, { within: Infinity }) : []
      if (stored.includes(false)) stored = await this.db.hasMany(rest)
      todo = rest.filter((_, i) => !stored[i])
      this.stats.objectsShared += oids.length - todo.length
      if (todo.length) trace(`store: ${todo.length} of ${oids.length} objects not brought by the cache's broker; fetching them here`)
    }
    while (todo.length) {
      const { mine, others } = await this.flight.claim(todo)
      const fetchMine = async () => {
        try {
          const present = mine.length ? await this.db.hasMany(mine) : []
          const absent = mine.filter((_, i) => !present[i])
          this.stats.objectsShared += mine.length - absent.length
          if (absent.length) await this.fetchClaimed(absent)
        } finally {
          await this.flight.release(mine)
        }
      }
      const waitOthers = async () => {
        if (!others.length) return []
        const left = await this.flight.waitOut(others)
        this.stats.objectsShared += others.length - left.length
        return left
      }
      const [, left] = await Promise.all([fetchMine(), waitOthers()])
      todo = left
    }
  }

  private async fetchClaimed(oids: Oid[]): Promise<void> {
    this.stats.requests++
    const t0 = performance.now()
    trace(`store: fetch ${oids.length} objects`)
    const asked = new Set(oids)
    const remote = this.remote
    await this.receive(
      (t) => (remote.streamBlobs ? remote.streamBlobs(oids, t()) : Store.feed(remote.fetchBlobs(oids), t())),
      asked.size,
      (oid, type, b, start, end) => {
        if (type === 'tree') checkTree(b, oid, () => {}, start, end) // hostile names throw
        asked.delete(oid)
      },
      () => {
        if (asked.size) {
          throw new IntegrityError(
            `${this.remote.describe()} did not send ${asked.size} of the ${oids.length} objects asked for (first: ${asked.values().next().value}); nothing was stored`,
          )
        }
      },
    )
    trace(`store: fetched ${oids.length} objects in ${(performance.now() - t0).toFixed(0)} ms`)
  }

  /** The remote's refs, listed again when the last listing is older than 2 s or `fresh` is asked. */
  private async refList(fresh = false): Promise<RemoteRef[]> {
    if (!this.refs || fresh || Date.now() - this.refs.at > 2000) this.refs = { at: Date.now(), refs: await this.remote.listRefs() }
    return this.refs.refs
  }

  async resolveRef(ref: string): Promise<Oid> {
    if (isOid(ref)) return ref
    const names = [ref, `refs/heads/${ref}`, `refs/tags/${ref}`, `refs/${ref}`]
    let refs: RemoteRef[] = []
    for (let attempt = 0; attempt < 2; attempt++) {
      refs = await this.refList(attempt > 0)
      for (const name of names) {
        const r = refs.find((x) => x.name === name)
        if (r) return r.peeled ?? r.oid
      }
    }
    const heads = refs.filter((r) => r.name.startsWith('refs/heads/')).map((r) => r.name.slice(11))
    throw new RemoteError(
      'unknown-ref',
      `Ref "${ref}" does not exist on ${this.remote.describe()}; branches there: ${heads.slice(0, 10).join(', ') || '(none)'}`,
    )
  }

  async idsWithPrefix(prefix: string): Promise<Oid[]> {
    const found = new Set(await this.db.withPrefix(prefix))
    for (const r of await this.refList()) {
      const id = r.peeled ?? r.oid
      if (id.startsWith(prefix)) found.add(id)
    }
    return [...found].sort()
  }

  private markerOf(commit: Oid): string {
    return join(this.db.dir, 'loaded', commit)
  }

  /**
   * Makes the commit and all its trees local. With `rootFirst`, resolves as soon as the commit
   * and its root tree are here; the rest keeps arriving, and readTree of a tree
   * not yet here waits for it (a mount can answer `ls` before the whole tree is in).
   */
  loadCommit(commit: Oid, options: { rootFirst?: boolean; from?: Oid } = {}): Promise<CommitInfo> {
    let load = this.loading.get(commit)
    if (!load) {
      load = this.startLoad(commit, options.from)
      this.loading.set(commit, load)
      const settled = load.all.then(() => {}, () => {})
      this.treeLoads.add(settled)
      void settled.then(() => {
        this.loading.delete(commit)
        this.treeLoads.delete(settled)
      })
    }
    if (options.rootFirst) load.wantTop()
    return options.rootFirst ? load.top : load.all
  }

  private startLoad(commit: Oid, from: Oid | undefined): { top: Promise<CommitInfo>; all: Promise<CommitInfo>; wantTop: () => void } {
    let topDone!: (info: CommitInfo) => void
    const top = new Promise<CommitInfo>((r) => (topDone = r))
    let topWanted = false
    const all = this.loadShared(commit, topDone, () => topWanted, from)
    // `top` fails with `all` when the failure came first; both are marked handled here (callers still see them).
    const topOrFail = Promise.race([top, all])
    topOrFail.catch(() => {})
    all.catch(() => {})
    return { top: topOrFail, all, wantTop: () => void (topWanted = true) }
  }

  private async loadedOnDisk(commit: Oid): Promise<boolean> {
    const hasMarker = await fsp.access(this.markerOf(commit)).then(() => true, () => false)
    return hasMarker && (await this.db.has(commit))
  }

  /**
   * Loads the commit's trees once across every process sharing this cache: the process holding
   * `loaded/<commit>.lock` fetches them; the others wait for its marker (and, when a caller wants
   * the top early, fetch only the small top levels themselves, kept in memory). A holder that
   * fails or dies leaves the load to a waiter.
   */
  private async loadShared(commit: Oid, topDone: (info: CommitInfo) => void, topWanted: () => boolean, from?: Oid): Promise<CommitInfo> {
    const lock = this.markerOf(commit) + '.lock'
    let ownTop: Promise<void> | null = null
    const mine: Oid[] = []
    let made = false
    const me = holderText()
    try {
      for (;;) {
        if (await this.loadedOnDisk(commit)) {
          const info = await this.readCommit(commit)
          topDone(info)
          return info
        }
        if (!made) await fsp.mkdir(join(this.db.dir, 'loaded'), { recursive: true }), (made = true)
        const taken = await createLock(lock, me)
        if (taken) {
          const beat = setInterval(() => {
            const now = new Date()
            fsp.utimes(lock, now, now).catch(() => {})
          }, LOCK_BEAT_MS)
          beat.unref?.()
          try {
            if (await this.loadedOnDisk(commit)) continue // finished by another process just before
            if (ownTop) await ownTop
            const info = from && this.remote.streamFetch && (await this.loadedOnDisk(from)) ? await this.fetchChangedTrees(commit, from, topDone) : await this.fetchTrees(commit, topDone)
            await fsp.writeFile(this.markerOf(commit), '')
            return info
          } finally {
            clearInterval(beat)
            // Only our own lock: a takeover (after a long stall) may have replaced it.
            await removeLockIf(lock, me)
          }
        }
        const [text, st] = await Promise.all([fsp.readFile(lock, 'utf8').catch(() => null), fsp.stat(lock).catch(() => null)])
        if (text === null || st === null) continue // just released: look again
        if (holderGone(text, { mtimeMs: st.mtimeMs, afterMs: LOCK_STALE_MS })) {
          // Removed only if still the lock judged stale; then whoever creates it first loads.
          await removeLockIf(lock, text)
          trace(`store: took over the stale tree-load lock of ${commit} (${text})`)
          continue
        }
        if (topWanted() && !ownTop && this.remote.streamFetch) {
          // Only what an early answer needs: the process holding the lock fetches the rest.
          ownTop = this.fetchTop(commit, mine, topDone).then(
            () => {},
            (err) => trace(`store: early top of ${commit} failed, waiting for the whole load: ${(err as Error).message}`),
          )
        }
        await new Promise((r) => setTimeout(r, LOCK_POLL_MS))
      }
    } finally {
      if (ownTop) await ownTop
      for (const oid of mine) this.provisional.delete(oid)
    }
  }

  /**
   * The trees of `commit` that `from` (loaded: all its trees stored) lacks, level by level from the
   * root: one `filter tree:0` request per level for the trees not stored, descending only where
   * the two commits differ. A checkout between close commits costs a few small requests instead
   * of all the trees again. Each level is stored as it arrives (verified trees; the commit's
   * marker is written only once all are in).
   */
  private async fetchChangedTrees(commit: Oid, from: Oid, onTop: (info: CommitInfo) => void): Promise<CommitInfo> {
    const info = await this.readCommit(commit)
    const base = await this.readCommit(from)
    let level: [Oid, Oid | undefined][] = info.tree === base.tree ? [] : [[info.tree, base.tree]]
    let fetched = 0
    while (level.length) {
      const present = await this.db.hasMany(level.map(([t]) => t))
      const missing = [...new Set(level.filter((_, i) => !present[i]).map(([t]) => t))]
      for (let i = 0; i < missing.length; i += this.batcher.maxBatch) {
        const part = missing.slice(i, i + this.batcher.maxBatch)
        if (this.treeLevels > 1) {
          try {
            await this.fetchTreesOnly(part, `commit ${commit}`, this.treeLevels)
            continue
          } catch (err) {
            if (!refused(err)) throw err
            trace(`store: combined tree filter refused (${(err as Error).message}); one level per request`)
            this.treeLevels = 1
          }
        }
        await this.fetchTreesOnly(part, `commit ${commit}`, 1)
      }
      fetched += missing.length
      const next: [Oid, Oid | undefined][] = []
      for (const [t, f] of level) {
        const old = f ? new Map((await this.readTree(f, { keep: false })).map((e) => [e.name, e])) : undefined
        for (const e of await this.readTree(t, { keep: false })) {
          if (e.mode !== '40000') continue
          const o = old?.get(e.name)
          if (o?.oid === e.oid) continue
          next.push([e.oid, o?.mode === '40000' ? o.oid : undefined])
        }
      }
      level = next
    }
    trace(`store: ${fetched} trees of ${commit} that ${from} lacks`)
    onTop(info)
    return info
  }

  /** Makes exactly the trees `oids` local (not their subtrees, no blobs): one request per batch of those missing. */
  async loadTrees(oids: Oid[]): Promise<void> {
    const uniq = [...new Set(oids)].filter((o) => !this.mem.has(o) && !this.provisional.has(o))
    const present = await this.db.hasMany(uniq)
    const missing = uniq.filter((_, i) => !present[i])
    if (!missing.length) return
    if (!this.remote.streamFetch) return void (await this.prefetch(missing))
    for (let i = 0; i < missing.length; i += this.batcher.maxBatch) await this.fetchTreesOnly(missing.slice(i, i + this.batcher.maxBatch), `${missing.length} trees`, 1)
  }

  /** The trees `oids` and `levels - 1` levels of trees below them (no blobs), checked and stored. */
  private async fetchTreesOnly(oids: Oid[], what: string, levels: number): Promise<void> {
    this.stats.requests++
    const asked = new Set(oids)
    await this.receive(
      (t) => this.remote.streamFetch!(oids, [levels > 1 ? `filter combine:tree:${levels}+blob:none` : 'filter tree:0'], t()),
      levels > 1 ? Infinity : oids.length,
      (oid, type, b, start, end) => {
        if (type !== 'tree' || (!asked.delete(oid) && levels === 1)) throw new IntegrityError(`${this.remote.describe()} sent ${type} ${oid}, not a tree of ${what} asked for; nothing was stored`)
        checkTree(b, oid, () => {}, start, end)
      },
      () => {
        if (asked.size) throw new IntegrityError(`${this.remote.describe()} did not send tree ${asked.values().next().value} of ${what}; nothing was stored`)
      },
    )
  }

  /**
   * Fetches every tree of `commit`: first the commit and its root tree (`onTop`), then the top
   * levels (small), then the subtrees below them in a few parallel requests streamed into
   * one pack (the server's object walk runs in parallel, and parsing overlaps it). A server that
   * refuses the filters used gets the single deepen-1 blob:none fetch instead.
   */
  private async fetchTrees(commit: Oid, onTop: (info: CommitInfo) => void): Promise<CommitInfo> {
    const remote = this.remote
    if (!remote.streamFetch) {
      const info = await this.fetchTreesAtOnce(commit)
      onTop(info)
      return info
    }
    // The top levels are served from memory until the rest is in, and stored with it: a failure
    // leaves nothing behind.
    let top: { info: CommitInfo; objects: RawObject[]; present: Set<Oid>; frontier: Oid[] } | undefined
    let topSent = false
    const mine: Oid[] = []
    // Started first, so that it boots while the top levels are fetched.
    const worker = this.packWorker ? PackWorker.start() : null
    try {
      top = await this.fetchTop(commit, mine, (info) => {
        topSent = true
        onTop(info)
      })
      await this.fetchBelow(commit, top, worker)
      return top.info
    } catch (err) {
      if (!refused(err)) throw err
      const info = await this.fetchTreesAtOnce(commit)
      if (!topSent) onTop(info)
      return info
    } finally {
      for (const oid of mine) this.provisional.delete(oid)
      void worker?.close()
    }
  }

  /**
   * The commit and the top levels of its trees (checked, not stored yet: served from memory):
   * `tree:1` on the commit (the commit and its root tree: the smallest request, so a mount's `ls`
   * answers after it; a `tree:2` costs the server about what git's whole depth-1 blobless clone
   * does), then `tree:0` on the trees wanted (just those trees) for each further level, until a
   * level has enough subtrees to split the rest into parallel requests. Returns them and the ids
   * of the trees just below them.
   */
  private async fetchTop(
    commit: Oid,
    mine: Oid[],
    onTop: (info: CommitInfo) => void,
  ): Promise<{ info: CommitInfo; objects: RawObject[]; present: Set<Oid>; frontier: Oid[] }> {
    this.stats.requests++
    const t = new MemoryPackTarget()
    await this.remote.streamFetch!([commit], ['deepen 1', 'filter tree:1'], t)
    const c = t.objects.find((o) => o.oid === commit)
    if (!c || c.type !== 'commit') throw new IntegrityError(`${this.remote.describe()} did not send commit ${commit}`)
    const info = parseCommit(c.body, commit)
    const objects: RawObject[] = []
    const present = new Set<Oid>()
    // Objects received and not used yet (a server may send more than asked).
    const received = new Map(t.objects.map((o) => [o.oid, o]))
    let frontier: Oid[] = [info.tree]
    for (let depth = 0; ; depth++) {
      const wanted = depth === 0 ? [commit, info.tree] : frontier
      const missing = wanted.filter((oid) => !received.has(oid))
      if (missing.length) {
        this.stats.requests++
        const lt = new MemoryPackTarget()
        await this.remote.streamFetch!(missing, ['filter tree:0'], lt)
        for (const o of lt.objects) received.set(o.oid, o)
      }
      const next = new Set<Oid>()
      for (const oid of wanted) {
        const o = received.get(oid)
        if (!o) throw new IntegrityError(`${this.remote.describe()} did not send tree ${oid} of commit ${commit}; nothing was stored`)
        // Only what was asked for is kept, and a tree is a tree.
        if (oid !== commit && o.type !== 'tree') throw new IntegrityError(`${this.remote.describe()} sent a ${o.type} for tree ${oid} of commit ${commit}; nothing was stored`)
        if (o.type === 'tree') checkTree(o.body, o.oid, (b, at) => void next.add(bytesToHex(b, at, at + 20)))
        present.add(oid)
        objects.push(o)
        received.delete(oid)
        this.provisional.set(oid, { type: o.type, body: o.body })
        mine.push(oid)
      }
      this.signalArrival()
      if (depth === 0) onTop(info)
      frontier = [...next].filter((oid) => !present.has(oid))
      trace(`store: top level ${depth} (${objects.length} objects, ${frontier.length} below)`)
      if (frontier.length === 0 || frontier.length >= 64 || depth >= 3) break
    }
    return { info, objects, present, frontier }
  }

  /**
   * Makes the commits up to `depth` generations back from `tip` local (every parent, as `deepen`
   * counts), without trees or blobs: one request from the first commit missing along the first
   * parents, none when they are all stored.
   */
  async loadHistory(tip: Oid, depth: number): Promise<void> {
    let c: Oid | undefined = tip
    for (let k = 0; c && k < depth; k++) {
      if (!(await this.has(c)) && !this.provisional.has(c)) await this.fetchHistory(c, depth - k)
      c = (await this.readCommit(c)).parents[0]
    }
  }

  /** `depth` generations of commits from `tip`, commits only (`deepen` + `filter tree:0`), into one pack. */
  private fetchHistory(tip: Oid, depth: number): Promise<void> {
    let run = this.histories.get(tip)
    if (run) return run
    const remote = this.remote
    if (!remote.streamFetch) return Promise.resolve() // readObject fetches the one commit
    run = (async () => {
      this.stats.requests++
      let got = false
      try {
        await this.receive(
          (t) => remote.streamFetch!([tip], [`deepen ${depth}`, 'filter tree:0'], t()),
          depth,
          (oid, type) => {
            if (type !== 'commit') throw new IntegrityError(`${remote.describe()} sent a ${type} (${oid}) for a commits-only fetch of ${tip}; nothing was stored`)
            if (oid === tip) got = true
          },
          () => {
            if (!got) throw new IntegrityError(`${remote.describe()} did not send commit ${tip}; nothing was stored`)
          },
        )
        trace(`store: history of ${tip} (${depth} deep)`)
      } catch (err) {
        if (!refused(err)) throw err
        trace(`store: commits-only fetch refused (${(err as Error).message}); fetching commits one by one`)
      }
    })().finally(() => this.histories.delete(tip))
    this.histories.set(tip, run)
    return run
  }

  /** Wakes readTree calls waiting for trees of a fetch in progress. */
  private signalArrival(): void {
    const wake = this.wakeArrival
    this.arrival = new Promise((r) => (this.wakeArrival = r))
    wake()
  }

  /** Every tree under the top's frontier (no blobs), in parallel requests, into one pack with the top. */
  private async fetchBelow(commit: Oid, top: { objects: RawObject[]; present: Set<Oid>; frontier: Oid[] }, worker: PackWorker | null): Promise<void> {
    const { frontier, present } = top
    const parts = frontier.length >= 64 ? TREE_FETCH_PARALLEL : frontier.length ? 1 : 0
    const groups: Oid[][] = Array.from({ length: parts }, () => [])
    frontier.forEach((oid, i) => groups[i % parts].push(oid))
    const subtrees = new IdList()
    for (const oid of frontier) subtrees.addHex(oid)
    const want = (b: Uint8Array, at: number) => subtrees.add(b, at)
    this.stats.requests += parts
    await this.receive(
      async (view) => {
        const v = view()
        for (const o of top.objects) await v.add(o.oid, o.type, o.body)
        await Promise.all(groups.map((g) => this.remote.streamFetch!(g, ['filter blob:none'], view(), { worker })))
      },
      Infinity,
      (oid, type, b, start, end) => {
        if (type === 'tree') checkTree(b, oid, want, start, end)
      },
      () => {},
      (has) => {
        // Ids cover the type: an id present in the pack that a tree entry names is that tree.
        const missing = subtrees.firstFailing((b, at) => has(b, at) || present.has(Buffer.from(b.subarray(at, at + 20)).toString('hex')))
        if (missing) throw new IntegrityError(`${this.remote.describe()} did not send tree ${missing} of commit ${commit}; nothing was stored`)
      },
      subtrees,
    )
  }

  /** The commit and all its trees in one deepen-1 blob:none fetch. */
  private async fetchTreesAtOnce(commit: Oid): Promise<CommitInfo> {
    this.stats.requests++
    // Checked while the pack streams in: every tree well formed (hostile names refused), and every
    // tree under the commit present by the end; objects arrive verified against their ids.
    let info: CommitInfo | null = null
    const subtrees = new IdList()
    const want = (b: Uint8Array, at: number) => subtrees.add(b, at)
    const remote = this.remote
    await this.receive(
      (t) => (remote.streamCommitTrees ? remote.streamCommitTrees(commit, t()) : Store.feed(remote.fetchCommitTrees(commit), t())),
      Infinity,
      (oid, type, b, start, end) => {
        if (type === 'tree') checkTree(b, oid, want, start, end)
        else if (oid === commit) {
          info = parseCommit(b.subarray(start, end), commit)
          subtrees.addHex(info.tree)
        }
      },
      () => {
        if (!info) throw new IntegrityError(`${this.remote.describe()} did not send commit ${commit}`)
      },
      (has) => {
        // Ids cover the type: an id present in the pack that a tree entry names is that tree.
        const missing = subtrees.firstFailing(has)
        if (missing) throw new IntegrityError(`${this.remote.describe()} did not send tree ${missing} of commit ${commit}; nothing was stored`)
      },
    )
    return info!
  }

  /** The tree at the mount root: the commit's tree, or that of the remote's `--path` subdirectory. */
  async rootTree(commit: Oid): Promise<Oid> {
    let tree = (await this.readCommit(commit)).tree
    const parts = this.remote.path.split('/').filter(Boolean)
    for (let i = 0; i < parts.length; i++) {
      const e = (await this.readTree(tree)).find((x) => x.name === parts[i])
      if (!e || e.mode !== '40000') {
        throw new RemoteError('not-found', `Path "/${parts.slice(0, i + 1).join('/')}" is not a directory in commit ${commit}; check --path`)
      }
      tree = e.oid
    }
    return tree
  }

  readObject(oid: Oid): Promise<{ type: ObjectType; body: Uint8Array }> {
    return this.readObjectKept(oid, true)
  }

  /** readObject; with `keep` false, an object read from disk is not put in the memory LRU. */
  private async readObjectKept(oid: Oid, keep: boolean, read?: BlobReadOptions): Promise<{ type: ObjectType; body: Uint8Array }> {
    const m = this.mem.get(oid, GET) ?? this.provisional.get(oid)
    if (m) return this.stats.memoryHits++, m
    if (oid === EMPTY_BLOB_OID) return { type: 'blob', body: new Uint8Array(0) }
    let o = await this.db.read(oid)
    if (o) this.stats.diskHits++
    else {
      this.stats.serverHits++
      const asker = read?.asker
      if (read && this.batcher.has(oid)) {
        // Already asked for: its along went with it. Asked by another reader, that one's read-ahead
        // leads (what it fetches along is what this one would); by this one, it is its own guess.
        const trailed = this.batcher.trails(oid, asker)
        await this.batcher.request(oid, { asker })
        if (trailed) read.followed?.(true)
      } else if (read?.along) {
        // The read-ahead ids join this miss's request (the same batching window).
        const along = await this.missing(read.along().filter((x) => x !== oid)).catch(() => [] as Oid[])
        const mine = this.batcher.request(oid, { asker })
        if (along.length) {
          const done = this.batcher.requestMany(along, { speculative: true, asker })
          read.started?.(done.then(() => (this.noteAhead(along), read.fetched?.(along)), () => {}))
        }
        await mine
        read.followed?.(this.trailedAtBroker.delete(oid))
      } else await this.batcher.request(oid, { asker })
      o = this.mem.get(oid, GET) ?? (await this.db.read(oid))
      if (!o) throw new RemoteError('object-lost', `Object ${oid} vanished from the cache right after it was fetched; retry`)
    }
    if (keep) this.mem.set(oid, o)
    return o
  }

  async readCommit(oid: Oid): Promise<CommitInfo> {
    // A commit not stored comes with its ancestors (a walk back is likely to follow), never with
    // the trees and blobs of all history that a plain want of it would bring.
    if (!(await this.has(oid)) && !this.provisional.has(oid)) await this.fetchHistory(oid, HISTORY_BATCH)
    const o = await this.readObject(oid)
    if (o.type !== 'commit') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a commit`)
    return parseCommit(o.body, oid)
  }

  async readTree(oid: Oid, options: { keep?: boolean } = {}): Promise<TreeEntry[]> {
    const cached = this.trees.get(oid, GET)
    if (cached) return cached
    // During a commit's tree fetch a missing tree is most likely in it: wait rather than fetch it twice.
    while (this.treeLoads.size && !this.mem.has(oid) && !this.provisional.has(oid) && !(await this.db.has(oid))) {
      await Promise.race([this.arrival, ...this.treeLoads])
    }
    // Parsed, the tree lives in `trees` (or with the caller); its raw body need not stay in memory
    // too (a walk of a 100,000-file tree kept ~92k tree bodies there, ~30 MB).
    const o = await this.readObjectKept(oid, false)
    if (o.type !== 'tree') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a tree`)
    const entries = parseTree(o.body, oid)
    if (options.keep !== false) this.trees.set(oid, entries)
    this.mem.delete(oid)
    return entries
  }

  treesArriving(): boolean {
    return this.treeLoads.size > 0
  }

  readTreeNow(oid: Oid, options: { keep?: boolean } = {}): TreeEntry[] | undefined {
    const cached = this.trees.get(oid, GET)
    if (cached) return cached
    // A view of the pack's memory is enough: parsed at once, not kept.
    const o = this.mem.get(oid, GET) ?? this.provisional.get(oid) ?? this.db.readNow(oid, { view: true })
    if (!o || o.type !== 'tree') return undefined // not in memory, or for readTree to report
    const entries = parseTree(o.body, oid)
    if (options.keep !== false) this.trees.set(oid, entries)
    this.mem.delete(oid)
    return entries
  }

  async readBlob(oid: Oid, options?: BlobReadOptions): Promise<Uint8Array> {
    const o = await this.readObjectKept(oid, true, options)
    if (o.type !== 'blob') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a blob`)
    this.sizes.set(oid, o.body.length)
    this.ahead.delete(oid)
    return o.body
  }

  /** Blobs fetched ahead of any read (prefetch) that this process has not read since: the waste. */
  unreadAhead(): { objects: number; bytes: number } {
    let bytes = 0
    for (const o of this.ahead) bytes += this.sizes.get(o) ?? 0
    return { objects: this.ahead.size, bytes }
  }

  /** The size of a blob when it is known without any I/O (remembered, or the blob is in memory). */
  knownSize(oid: Oid): number | undefined {
    return oid === EMPTY_BLOB_OID ? 0 : (this.sizes.get(oid) ?? this.mem.get(oid, GET)?.body.length)
  }

  /** `knownSize` of each distinct id of `oids` into `out`; returns the ids whose size it does not know. */
  private knownSizes(oids: Oid[], out: Map<Oid, number>): Oid[] {
    const unknown: Oid[] = []
    for (const oid of new Set(oids)) {
      const s = this.knownSize(oid)
      if (s !== undefined) out.set(oid, s)
      else unknown.push(oid)
    }
    return unknown
  }

  async blobSize(oid: Oid): Promise<number> {
    return (await this.blobSizes([oid])).get(oid)!
  }

  async blobSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    const out = new Map<Oid, number>()
    let todo = this.knownSizes(oids, out)
    if (todo.length) {
      const disk = await this.db.sizeMany(todo)
      todo = todo.filter((o, i) => {
        const d = disk[i]
        if (d) out.set(o, d.size), this.sizes.set(o, d.size)
        return !d
      })
    }
    if (todo.length) todo = await this.askSizes(todo, out)
    if (todo.length) {
      await this.batcher.requestMany(todo)
      for (const o of todo) {
        const s = this.sizes.get(o) ?? (await this.db.size(o))?.size
        if (s === undefined) throw new RemoteError('object-lost', `Size of ${o} unknown after fetching it`)
        out.set(o, s)
        this.sizes.set(o, s)
      }
    }
    return out
  }

  async cheapSizes(oids: Oid[], options: SizeQueryOptions = {}): Promise<Map<Oid, number>> {
    const out = new Map<Oid, number>()
    const todo = this.knownSizes(oids, out)
    const rest: Oid[] = []
    const disk = todo.length ? await this.db.sizeMany(todo) : []
    todo.forEach((o, j) => {
      const d = disk[j]
      if (d) out.set(o, d.size), this.sizes.set(o, d.size)
      else rest.push(o)
    })
    if (rest.length && options.local) {
      await this.shared.refresh()
      for (const o of rest) {
        const n = this.sizes.get(o)
        if (n !== undefined) out.set(o, n)
      }
    } else if (rest.length && this.remote.batchSizes) await this.askSizes(rest, out, options.followed)
    return out
  }

  has(oid: Oid): Promise<boolean> {
    if (this.mem.has(oid)) return Promise.resolve(true)
    return this.db.has(oid)
  }

  /** The ids among `oids` neither in memory nor on disk. */
  private async missing(oids: Oid[]): Promise<Oid[]> {
    const uniq = [...new Set(oids)].filter((o) => o !== EMPTY_BLOB_OID)
    const inMem = uniq.map((o) => this.mem.has(o))
    // An id taken for missing that was stored a moment ago costs a look by its fetcher, not a fetch.
    const onDisk = await this.db.hasMany(uniq.filter((_, i) => !inMem[i]), { within: LIST_FRESH_MS })
    let k = 0
    return uniq.filter((_, i) => !(inMem[i] || onDisk[k++]))
  }

  async readAhead(oids: Oid[], options: ReadAheadOptions = {}): Promise<Oid[]> {
    const missing = await this.missing(oids).catch(() => [] as Oid[])
    const wanted: Oid[] = []
    let bytes = 0
    for (const oid of missing) {
      if (wanted.length >= (options.objects ?? Infinity)) break
      bytes += this.sizes.get(oid) ?? 0
      if (bytes > (options.bytes ?? Infinity) && wanted.length) break
      wanted.push(oid)
    }
    if (wanted.length) options.chosen?.(wanted)
    const max = this.batcher.maxBatch
    const chunk = Math.max(1, Math.min(options.batch ?? max, max))
    const parts: Oid[][] = []
    let i = Math.min(Math.max(1, options.first ?? chunk), max, wanted.length)
    if (i) parts.push(wanted.slice(0, i))
    for (; i < wanted.length; i += chunk) parts.push(wanted.slice(i, i + chunk))
    const got = await Promise.all(parts.map((part) => this.batcher.requestMany(part, { speculative: true, asker: options.asker }).then(() => (this.noteAhead(part), part), () => [] as Oid[])))
    return got.flat()
  }

  /** Blobs fetched ahead of any read (prefetch, read-ahead): counted, and remembered until read. */
  private noteAhead(oids: Oid[]): void {
    for (const o of oids) {
      if (this.ahead.size < AHEAD_MAX) this.ahead.add(o)
      this.stats.prefetchedBytes += this.sizes.get(o) ?? 0
    }
    this.stats.prefetchedObjects += oids.length
  }

  async prefetch(oids: Oid[], options: { onProgress?: (p: FetchProgress) => void } = {}): Promise<FetchProgress> {
    const missing = await this.missing(oids)
    const progress: FetchProgress = { objects: 0, bytes: 0 }
    const before = { ...this.stats }
    const chunk = this.batcher.maxBatch
    const tasks: Promise<unknown>[] = []
    for (let i = 0; i < missing.length; i += chunk) {
      const part = missing.slice(i, i + chunk)
      tasks.push(
        this.batcher.requestMany(part).then(() => {
          this.noteAhead(part)
          progress.objects += part.length
          progress.bytes = this.stats.bytesFetched - before.bytesFetched
          options.onProgress?.({ ...progress })
        }),
      )
    }
    await Promise.all(tasks)
    return progress
  }

  async writeObject(type: ObjectType, body: Uint8Array): Promise<Oid> {
    if (type === 'tree') parseTree(body)
    const oid = hashObject(type, body)
    if (!(await this.db.has(oid))) await this.db.write(oid, type, body)
    this.sizes.set(oid, body.length)
    this.mem.set(oid, { type, body })
    return oid
  }

  /** Updates `ref` on the remote to `commit`, sending the objects it lacks. Refuses non-fast-forward unless `force`. */
  push(ref: string, commit: Oid, options: { force?: boolean } = {}): Promise<PushResult> {
    this.refs = null
    return pushCommit(this, ref, commit, options)
  }

  /** Keeps `oids` through gc until unpinned (committed-but-unpushed objects of a workspace). */
  pin(workspaceId: string, oids: Oid[]): Promise<void> {
    return pinObjects(this.db.dir, workspaceId, oids)
  }

  /** Releases `oids`, or all of the workspace's pins when omitted. */
  unpin(workspaceId: string, oids?: Oid[]): Promise<void> {
    return unpinObjects(this.db.dir, workspaceId, oids)
  }

  pinned(): Promise<Set<Oid>> {
    return allPinned(this.db.dir)
  }

  /** Trims the disk cache to `maxBytes`, least recently used first, never a pinned object. */
  async gc(options: { maxBytes: number }): Promise<GcResult> {
    const r = await gcDb(this.db, options.maxBytes, await this.pinned())
    this.mem.clear()
    this.trees.clear()
    return r
  }

  async close(): Promise<void> {
    this.broker?.close()
    // What this process fetched ahead and read is left for the next process's bound.
    await this.aheadLedger.sync()
    await this.db.close()
    await this.remote.close?.()
  }
}
