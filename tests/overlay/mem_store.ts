// A small in-memory ObjectStore holding real Git objects (ids are real SHA-1s), for tests of
// lib/lower and lib/overlay without a server. Counts blob reads so tests can check laziness.
import { hashObject } from '../../lib/git/sha1.ts'
import { serializeTree, parseTree } from '../../lib/git/tree.ts'
import { parseCommit, serializeCommit } from '../../lib/git/commit.ts'
import type { CommitInfo, FetchProgress, ObjectStore, ObjectType, Oid, TreeEntry, TreeMode } from '../../lib/store/types.ts'

const enc = new TextEncoder()

export type FileSpec = string | { content: string; mode?: '100644' | '100755' } | { symlink: string } | { submodule: Oid }

export class MemStore implements ObjectStore {
  objects = new Map<Oid, { type: ObjectType; body: Uint8Array }>()
  /** Blob ids read so far (each counts as a download). */
  blobReads: Oid[] = []
  sizeCalls = 0
  /** When set, reads of blobs not in `local` fail like an unreachable server. */
  offline = false
  local = new Set<Oid>()

  async resolveRef(ref: string): Promise<Oid> {
    if (this.objects.has(ref)) return ref
    throw new Error(`no ref ${ref}`)
  }
  async loadCommit(commit: Oid): Promise<CommitInfo> {
    return this.readCommit(commit)
  }
  async readCommit(oid: Oid): Promise<CommitInfo> {
    return parseCommit((await this.readObject(oid)).body, oid)
  }
  async readTree(oid: Oid): Promise<TreeEntry[]> {
    return parseTree((await this.readObject(oid)).body, oid)
  }
  async readBlob(oid: Oid): Promise<Uint8Array> {
    if (this.offline && !this.local.has(oid)) throw Object.assign(new Error(`server unreachable fetching ${oid}`), { code: 'remote-unreachable', errno: 'EIO' })
    if (!this.local.has(oid)) this.blobReads.push(oid)
    this.local.add(oid)
    return (await this.readObject(oid)).body
  }
  async blobSize(oid: Oid): Promise<number> {
    this.sizeCalls++
    return (await this.readObject(oid)).body.length
  }
  async blobSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    this.sizeCalls++
    const m = new Map<Oid, number>()
    for (const o of oids) m.set(o, (await this.readObject(o)).body.length)
    return m
  }
  async has(oid: Oid): Promise<boolean> {
    return this.local.has(oid)
  }
  async prefetch(oids: Oid[]): Promise<FetchProgress> {
    for (const o of oids) await this.readBlob(o)
    return { objects: oids.length, bytes: 0 }
  }
  async writeObject(type: ObjectType, body: Uint8Array): Promise<Oid> {
    const oid = hashObject(type, body)
    this.objects.set(oid, { type, body })
    if (type === 'blob') this.local.add(oid)
    return oid
  }
  async readObject(oid: Oid): Promise<{ type: ObjectType; body: Uint8Array }> {
    const o = this.objects.get(oid)
    if (!o) throw Object.assign(new Error(`object ${oid} missing`), { code: 'missing', errno: 'EIO' })
    return o
  }

  private put(type: ObjectType, body: Uint8Array): Oid {
    const oid = hashObject(type, body)
    this.objects.set(oid, { type, body })
    return oid
  }

  /** Builds trees and a commit from `{ 'a/b.txt': 'x', ... }`; blobs start out "remote". */
  commit(files: Record<string, FileSpec>, time = 1700000000, parents: Oid[] = []): Oid {
    type Dir = Map<string, Dir | TreeEntry>
    const root: Dir = new Map()
    for (const [path, spec] of Object.entries(files)) {
      const parts = path.split('/')
      let d = root
      for (const p of parts.slice(0, -1)) {
        let next = d.get(p)
        if (!(next instanceof Map)) d.set(p, (next = new Map()))
        d = next
      }
      const name = parts[parts.length - 1]
      if (name === '') continue // 'dir/' = empty directory marker handled below
      let mode: TreeMode = '100644'
      let oid: Oid
      if (typeof spec === 'string') oid = this.put('blob', enc.encode(spec))
      else if ('symlink' in spec) ((mode = '120000'), (oid = this.put('blob', enc.encode(spec.symlink))))
      else if ('submodule' in spec) ((mode = '160000'), (oid = spec.submodule))
      else ((mode = spec.mode ?? '100644'), (oid = this.put('blob', enc.encode(spec.content))))
      d.set(name, { mode, name, oid })
    }
    const write = (d: Dir): Oid => {
      const entries: TreeEntry[] = []
      for (const [name, v] of d) entries.push(v instanceof Map ? { mode: '40000', name, oid: write(v) } : v)
      return this.put('tree', serializeTree(entries))
    }
    const tree = write(root)
    const who = { name: 'T', email: 't@example.com', timestamp: time, timezoneOffset: 0 }
    return this.put('commit', serializeCommit({ tree, parents, author: who, committer: who, message: 'test\n' }))
  }
}
