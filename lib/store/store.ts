// The object store of one remote: memory LRU → disk object DB → remote (batched, single-flight).
// Implements the ObjectStore contract (types.ts) plus push, gc and pins.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { LRUCache } from 'lru-cache'
import { IntegrityError, RemoteError } from '../errors.ts'
import { parseCommit } from '../git/commit.ts'
import { EMPTY_BLOB_OID, hashObject, isOid } from '../git/sha1.ts'
import { checkTree, parseTree } from '../git/tree.ts'
import type { RawObject, Remote, RemoteRef } from '../remote/types.ts'
import { Batcher } from './batcher.ts'
import { DiskObjectDb, type StoredObject } from './disk.ts'
import { gcDb, type GcResult } from './gc.ts'
import { allPinned, pinObjects, unpinObjects } from './pins.ts'
import { pushCommit, type PushResult } from './push.ts'
import type { CommitInfo, FetchProgress, ObjectStore, ObjectType, Oid, TreeEntry } from './types.ts'

export interface StoreOptions {
  memoryBytes?: number
  /** Batching window for misses, in ms (default 3). */
  batchWindowMs?: number
  /** Max ids per remote request (default 2000). */
  maxBatch?: number
  /** Remote requests in flight at once (default 4). */
  parallel?: number
}

export class Store implements ObjectStore {
  readonly remote: Remote
  readonly db: DiskObjectDb
  private mem: LRUCache<Oid, StoredObject>
  private trees = new LRUCache<Oid, TreeEntry[]>({ max: 20000 })
  private sizes = new LRUCache<Oid, number>({ max: 500000 })
  private batcher: Batcher
  private loading = new Map<Oid, Promise<CommitInfo>>()
  private refs: { at: number; refs: RemoteRef[] } | null = null
  /** Remote requests made by this store (for tests and stats). */
  stats = { requests: 0, objectsFetched: 0, bytesFetched: 0 }

  constructor(remote: Remote, db: DiskObjectDb, options: StoreOptions = {}) {
    this.remote = remote
    this.db = db
    const maxSize = options.memoryBytes ?? 64 * 1024 * 1024
    this.mem = new LRUCache<Oid, StoredObject>({
      maxSize,
      maxEntrySize: Math.max(1, Math.floor(maxSize / 4)),
      sizeCalculation: (v) => Math.max(1, v.body.length),
    })
    this.batcher = new Batcher((oids) => this.fetchAndStore(oids), {
      windowMs: options.batchWindowMs,
      maxBatch: options.maxBatch,
      parallel: options.parallel,
    })
    db.onCorrupt = (oid) => this.mem.delete(oid)
  }

  /** Verifies a remote reply against what was asked, then writes it. Nothing is stored on error. */
  private async ingest(objs: RawObject[], asked: Oid[], treesChecked = false): Promise<void> {
    const got = new Map<Oid, RawObject>()
    for (const o of objs) got.set(o.oid, o)
    const missing = asked.filter((o) => !got.has(o))
    if (missing.length) {
      throw new IntegrityError(
        `${this.remote.describe()} did not send ${missing.length} of the ${asked.length} objects asked for (first: ${missing[0]}); nothing was stored`,
      )
    }
    if (!treesChecked) for (const o of got.values()) if (o.type === 'tree') parseTree(o.body, o.oid) // hostile names throw
    await this.db.writeMany([...got.values()])
    const small = got.size <= 256
    for (const o of got.values()) {
      if (o.type === 'blob') this.sizes.set(o.oid, o.body.length)
      // A few objects are likely read next (a miss); a big batch is a prefetch: keep it on disk only.
      if (small && o.body.length < 65536) this.mem.set(o.oid, { type: o.type, body: o.body })
      this.stats.bytesFetched += o.body.length
    }
    this.stats.objectsFetched += got.size
  }

  private async fetchAndStore(oids: Oid[]): Promise<void> {
    this.stats.requests++
    const objs = await this.remote.fetchBlobs(oids)
    await this.ingest(
      objs.filter((o) => oids.includes(o.oid) || o.type === 'tree'),
      oids,
    )
  }

  async resolveRef(ref: string): Promise<Oid> {
    if (isOid(ref)) return ref
    const names = [ref, `refs/heads/${ref}`, `refs/tags/${ref}`, `refs/${ref}`]
    for (let attempt = 0; attempt < 2; attempt++) {
      if (!this.refs || attempt > 0 || Date.now() - this.refs.at > 2000) this.refs = { at: Date.now(), refs: await this.remote.listRefs() }
      for (const name of names) {
        const r = this.refs.refs.find((x) => x.name === name)
        if (r) return r.peeled ?? r.oid
      }
    }
    const refs = this.refs!.refs
    const heads = refs.filter((r) => r.name.startsWith('refs/heads/')).map((r) => r.name.slice(11))
    throw new RemoteError(
      'unknown-ref',
      `Ref "${ref}" does not exist on ${this.remote.describe()}; branches there: ${heads.slice(0, 10).join(', ') || '(none)'}`,
    )
  }

  private markerOf(commit: Oid): string {
    return join(this.db.dir, 'loaded', commit)
  }

  loadCommit(commit: Oid): Promise<CommitInfo> {
    let p = this.loading.get(commit)
    if (!p) {
      p = this.doLoadCommit(commit).finally(() => this.loading.delete(commit))
      this.loading.set(commit, p)
    }
    return p
  }

  private async doLoadCommit(commit: Oid): Promise<CommitInfo> {
    const marker = this.markerOf(commit)
    const hasMarker = await fsp.access(marker).then(() => true, () => false)
    if (hasMarker && (await this.db.has(commit))) return this.readCommit(commit)
    this.stats.requests++
    const objs = await this.remote.fetchCommitTrees(commit)
    const c = objs.find((o) => o.oid === commit)
    if (!c || c.type !== 'commit') throw new IntegrityError(`${this.remote.describe()} did not send commit ${commit}`)
    const info = parseCommit(c.body, commit)
    const byId = new Map(objs.map((o) => [o.oid, o]))
    // Every tree under the commit must have arrived (and be well formed) before anything is kept.
    const stack = [info.tree]
    const seen = new Set<Oid>()
    const pushTree = (oid: Oid) => void stack.push(oid)
    while (stack.length) {
      const t = stack.pop()!
      if (seen.has(t)) continue
      seen.add(t)
      const o = byId.get(t)
      if (!o || o.type !== 'tree') throw new IntegrityError(`${this.remote.describe()} did not send tree ${t} of commit ${commit}; nothing was stored`)
      checkTree(o.body, t, pushTree)
    }
    await this.ingest(objs.filter((o) => o.oid === commit || seen.has(o.oid)), [commit, ...seen], true)
    await fsp.mkdir(join(this.db.dir, 'loaded'), { recursive: true })
    await fsp.writeFile(marker, '')
    return info
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

  async readObject(oid: Oid): Promise<{ type: ObjectType; body: Uint8Array }> {
    const m = this.mem.get(oid)
    if (m) return m
    if (oid === EMPTY_BLOB_OID) return { type: 'blob', body: new Uint8Array(0) }
    let o = await this.db.read(oid)
    if (!o) {
      await this.batcher.request(oid)
      o = this.mem.get(oid) ?? (await this.db.read(oid))
      if (!o) throw new RemoteError('object-lost', `Object ${oid} vanished from the cache right after it was fetched; retry`)
    }
    this.mem.set(oid, o)
    return o
  }

  async readCommit(oid: Oid): Promise<CommitInfo> {
    const o = await this.readObject(oid)
    if (o.type !== 'commit') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a commit`)
    return parseCommit(o.body, oid)
  }

  async readTree(oid: Oid): Promise<TreeEntry[]> {
    const cached = this.trees.get(oid)
    if (cached) return cached
    const o = await this.readObject(oid)
    if (o.type !== 'tree') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a tree`)
    const entries = parseTree(o.body, oid)
    this.trees.set(oid, entries)
    return entries
  }

  async readBlob(oid: Oid): Promise<Uint8Array> {
    const o = await this.readObject(oid)
    if (o.type !== 'blob') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a blob`)
    return o.body
  }

  async blobSize(oid: Oid): Promise<number> {
    return (await this.blobSizes([oid])).get(oid)!
  }

  async blobSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    const out = new Map<Oid, number>()
    let todo: Oid[] = []
    for (const oid of new Set(oids)) {
      const s = oid === EMPTY_BLOB_OID ? 0 : (this.sizes.get(oid) ?? this.mem.get(oid)?.body.length)
      if (s !== undefined) out.set(oid, s)
      else todo.push(oid)
    }
    if (todo.length) {
      const disk = await Promise.all(todo.map((o) => this.db.size(o)))
      todo = todo.filter((o, i) => {
        const d = disk[i]
        if (d) out.set(o, d.size), this.sizes.set(o, d.size)
        return !d
      })
    }
    if (todo.length && this.remote.objectSizes) {
      this.stats.requests++
      const remote = await this.remote.objectSizes(todo)
      todo = todo.filter((o) => {
        const s = remote.get(o)
        if (s !== undefined) out.set(o, s), this.sizes.set(o, s)
        return s === undefined
      })
    }
    if (todo.length) {
      await this.batcher.requestMany(todo)
      for (const o of todo) {
        const s = this.sizes.get(o) ?? (await this.db.size(o))?.size
        if (s === undefined) throw new RemoteError('object-lost', `Size of ${o} unknown after fetching it`)
        out.set(o, s)
      }
    }
    return out
  }

  async cheapSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    const out = new Map<Oid, number>()
    const todo: Oid[] = []
    for (const oid of new Set(oids)) {
      const s = oid === EMPTY_BLOB_OID ? 0 : (this.sizes.get(oid) ?? this.mem.get(oid)?.body.length)
      if (s !== undefined) out.set(oid, s)
      else todo.push(oid)
    }
    const rest: Oid[] = []
    // Bounded so that a whole commit's worth of ids never opens thousands of files at once.
    for (let i = 0; i < todo.length; i += 512) {
      const part = todo.slice(i, i + 512)
      const disk = await Promise.all(part.map((o) => this.db.size(o)))
      part.forEach((o, j) => {
        const d = disk[j]
        if (d) out.set(o, d.size), this.sizes.set(o, d.size)
        else rest.push(o)
      })
    }
    if (rest.length && this.remote.batchSizes && this.remote.objectSizes) {
      this.stats.requests++
      for (const [o, s] of await this.remote.objectSizes(rest)) out.set(o, s), this.sizes.set(o, s)
    }
    return out
  }

  has(oid: Oid): Promise<boolean> {
    if (this.mem.has(oid)) return Promise.resolve(true)
    return this.db.has(oid)
  }

  async prefetch(oids: Oid[], options: { onProgress?: (p: FetchProgress) => void } = {}): Promise<FetchProgress> {
    const uniq = [...new Set(oids)].filter((o) => o !== EMPTY_BLOB_OID)
    const present = await Promise.all(uniq.map((o) => this.has(o)))
    const missing = uniq.filter((_, i) => !present[i])
    const progress: FetchProgress = { objects: 0, bytes: 0 }
    const before = { ...this.stats }
    const chunk = this.batcher.maxBatch
    const tasks: Promise<unknown>[] = []
    for (let i = 0; i < missing.length; i += chunk) {
      const part = missing.slice(i, i + chunk)
      tasks.push(
        this.batcher.requestMany(part).then(() => {
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
    await this.db.close()
    await this.remote.close?.()
  }
}
