// A store for one short CLI command: reads objects straight from the on-disk object DB and opens
// the real store (remote + memory caches) only when something is missing or must be fetched, sent
// or pinned. Keeps `scorpio status` from paying for a remote connection it does not need.
import { createHash } from 'node:crypto'
import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs'
import { join } from 'node:path'
import { parseCommit } from '../git/commit.ts'
import { parseTree } from '../git/tree.ts'
import { IntegrityError } from '../errors.ts'
import { DiskObjectDb } from '../store/disk.ts'
import { Notes } from '../store/notes.ts'
import type { Store } from '../store/store.ts'
import type { PushResult } from '../store/push.ts'
import { isObjectType, type CommitInfo, type FetchProgress, type ObjectType, type Oid, type TreeEntry } from '../store/types.ts'
import type { WorkspaceStore } from './context.ts'

export class LazyStore implements WorkspaceStore {
  private full?: Promise<Store>
  private db?: DiskObjectDb
  private packsRead?: Promise<unknown>
  /** Open pack data files, by path (read synchronously, like loose objects). */
  private packFds = new Map<string, number>()

  constructor(objectsDir: string | undefined, private readonly open: () => Promise<Store>) {
    if (objectsDir) this.db = new DiskObjectDb(objectsDir)
  }

  /** Where this remote's loose objects live (opens the real store when not known yet). */
  async objectsDir(): Promise<string | undefined> {
    return this.db?.dir ?? (await this.store()).db.dir
  }

  /** Derived facts live beside the objects: read without opening the real store. */
  readonly notes = {
    read: async (key: string) => (await this.notesOf())?.read(key) ?? [],
    add: async (key: string, line: string) => (await this.notesOf())?.add(key, line),
  }

  private async notesOf(): Promise<Notes | undefined> {
    const dir = await this.objectsDir()
    return dir ? new Notes(join(dir, 'notes')) : undefined
  }

  /** The real store (opened on first need). */
  store(): Promise<Store> {
    this.full ??= this.open()
    return this.full
  }

  /** The object DB's pack indexes, read once (lib/store/packs.ts). */
  private packs(): Promise<unknown> {
    this.packsRead ??= this.db ? this.db.packs.refresh().catch(() => false) : Promise.resolve()
    return this.packsRead
  }

  async readObject(oid: Oid): Promise<{ type: ObjectType; body: Uint8Array }> {
    await this.packs()
    const local = this.readLocal(oid)
    if (local) return local
    return (await this.store()).readObject(oid)
  }

  /** The raw record of `oid` in a pack of the object DB, read synchronously. */
  private readPacked(oid: Oid): Buffer | undefined {
    const loc = this.db?.packs.locate(oid)
    if (!loc) return undefined
    try {
      let fd = this.packFds.get(loc.pack.dataPath)
      if (fd === undefined) {
        fd = openSync(loc.pack.dataPath, 'r')
        this.packFds.set(loc.pack.dataPath, fd)
      }
      const buf = Buffer.allocUnsafe(loc.length)
      let got = 0
      while (got < loc.length) {
        const n = readSync(fd, buf, got, loc.length - got, loc.offset + got)
        if (n === 0) return undefined
        got += n
      }
      return buf
    } catch {
      return undefined
    }
  }

  /**
   * One synchronous read of an object from the object DB (a pack record or a loose file, both
   * `type size\0body` uncompressed, see lib/store/disk.ts and packs.ts), verified against its id.
   * Much cheaper than four async file operations per object when a command reads a few hundred
   * trees. Anything odd → undefined (the real store then deals with it). Call packs() first.
   */
  private readLocal(oid: Oid): { type: ObjectType; body: Uint8Array } | undefined {
    if (!this.db) return undefined
    let buf = this.readPacked(oid)
    if (!buf) {
      try {
        buf = readFileSync(this.db.pathOf(oid))
      } catch {
        return undefined
      }
    }
    const nul = buf.indexOf(0)
    if (nul < 0 || nul > 32) return undefined
    const [type, size] = buf.subarray(0, nul).toString('latin1').split(' ')
    if (Number(size) !== buf.length - nul - 1 || !isObjectType(type)) return undefined
    if (createHash('sha1').update(buf).digest('hex') !== oid) return undefined
    return { type: type as ObjectType, body: new Uint8Array(buf.buffer, buf.byteOffset + nul + 1, buf.length - nul - 1) }
  }

  async readCommit(oid: Oid): Promise<CommitInfo> {
    await this.packs()
    const o = this.readLocal(oid)
    if (!o) return (await this.store()).readCommit(oid) // with its ancestors, not its trees
    if (o.type !== 'commit') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a commit`)
    return parseCommit(o.body, oid)
  }

  /** The trees not stored come from the real store. */
  async loadTrees(oids: Oid[]): Promise<void> {
    await this.packs()
    const missing = oids.filter((o) => !this.readLocal(o))
    if (missing.length) await (await this.store()).loadTrees(missing)
  }

  /** Walks the first parents locally; the real store fetches from the first one missing. */
  async loadHistory(tip: Oid, depth: number): Promise<void> {
    await this.packs()
    let c: Oid | undefined = tip
    for (let k = 0; c && k < depth; k++) {
      const o = this.readLocal(c)
      if (!o || o.type !== 'commit') return (await this.store()).loadHistory(c, depth - k)
      c = parseCommit(o.body, c).parents[0]
    }
  }

  async readTree(oid: Oid): Promise<TreeEntry[]> {
    const o = await this.readObject(oid)
    if (o.type !== 'tree') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a tree`)
    return parseTree(o.body, oid)
  }

  async readBlob(oid: Oid): Promise<Uint8Array> {
    const o = await this.readObject(oid)
    if (o.type !== 'blob') throw new IntegrityError(`Object ${oid} is a ${o.type}, not a blob`)
    return o.body
  }

  async has(oid: Oid): Promise<boolean> {
    await this.packs()
    return this.readLocal(oid) !== undefined || (await this.store()).has(oid)
  }

  async resolveRef(ref: string): Promise<Oid> {
    if (/^[0-9a-f]{40}$/.test(ref)) return ref
    return (await this.store()).resolveRef(ref)
  }

  async idsWithPrefix(prefix: string): Promise<Oid[]> {
    return (await this.store()).idsWithPrefix(prefix)
  }
  /** Local when the store has already loaded this commit's trees (its `loaded/<commit>` marker). */
  async loadCommit(commit: Oid, options?: { from?: Oid }): Promise<CommitInfo> {
    await this.packs()
    if (this.db && existsSync(join(this.db.dir, 'loaded', commit)) && this.readLocal(commit)) return this.readCommit(commit)
    return (await this.store()).loadCommit(commit, options)
  }
  async blobSize(oid: Oid): Promise<number> {
    return (await this.store()).blobSize(oid)
  }
  async blobSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    return (await this.store()).blobSizes(oids)
  }
  async prefetch(oids: Oid[], options?: { onProgress?: (p: FetchProgress) => void }): Promise<FetchProgress> {
    return (await this.store()).prefetch(oids, options)
  }
  async writeObject(type: ObjectType, body: Uint8Array): Promise<Oid> {
    return (await this.store()).writeObject(type, body)
  }
  async push(ref: string, commit: Oid, options?: { force?: boolean }): Promise<PushResult> {
    return (await this.store()).push(ref, commit, options)
  }
  async pin(workspaceId: string, oids: Oid[]): Promise<void> {
    return (await this.store()).pin(workspaceId, oids)
  }
  async unpin(workspaceId: string, oids?: Oid[]): Promise<void> {
    return (await this.store()).unpin(workspaceId, oids)
  }
  async close(): Promise<void> {
    for (const fd of this.packFds.values()) closeSync(fd)
    this.packFds.clear()
    if (this.full) await (await this.full).close()
  }
}
