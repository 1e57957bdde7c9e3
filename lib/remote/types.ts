// The Remote contract: what the object store needs from a server. Backends: git smart HTTP v2
// (git_http.ts), Mega REST (mega.ts), a local bare repository (local.ts).
import type { PackTarget } from '../git/pack_reader.ts'
import type { PackWorker } from '../git/pack_worker.ts'
import type { ObjectType, Oid } from '../store/types.ts'

export interface RemoteRef {
  name: string
  oid: Oid
  /** For HEAD: the branch it points to (`refs/heads/main`). */
  symref?: string
  /** For annotated tags: the commit the tag points to. */
  peeled?: Oid
}

export interface RawObject {
  oid: Oid
  type: ObjectType
  body: Uint8Array
}

export interface PushRequest {
  /** Full ref name, `refs/heads/main`. */
  ref: string
  /** What the caller believes the ref is on the server (null: create). Checked by the server. */
  oldOid: Oid | null
  newOid: Oid
  /** Objects the server may lack (the backend sends what it needs of these). */
  objects: RawObject[]
}

/** Options of a streamed fetch. */
export interface StreamOptions {
  /** Parse the pack in this worker thread (both cores busy on a big fetch) instead of in-process. */
  worker?: PackWorker | null
}

export interface Remote {
  /** Stable, filesystem-safe id of this remote (host + path, no secrets): the cache dir name. */
  readonly key: string
  /** Subdirectory mounted (`--path`), `''` for the whole repository. */
  readonly path: string
  /** For logs: the URL without secrets. */
  describe(): string
  listRefs(): Promise<RemoteRef[]>
  /** The commit and every tree under it, no blobs. Every object is verified against its id. */
  fetchCommitTrees(commit: Oid): Promise<RawObject[]>
  /** Exactly the asked blobs (or other objects), verified; one request where the backend allows. */
  fetchBlobs(oids: Oid[]): Promise<RawObject[]>
  /**
   * Streaming forms of fetchCommitTrees / fetchBlobs (backends that receive packs): each verified
   * object goes to `target` while the reply arrives, never an array of all of them. The caller
   * checks completeness and stores nothing when this throws.
   */
  streamCommitTrees?(commit: Oid, target: PackTarget): Promise<void>
  streamBlobs?(oids: Oid[], target: PackTarget): Promise<void>
  /**
   * One upload-pack fetch of `wants` with extra arguments (`deepen 1`, `filter tree:2`, ...),
   * streamed into `target`. For staged tree fetches; throws RemoteError('no-filter') when the
   * server refuses filters.
   */
  streamFetch?(wants: Oid[], args: string[], target: PackTarget, options?: StreamOptions): Promise<void>
  /** Exact sizes without contents, where the server can tell; missing ids are left out. */
  objectSizes?(oids: Oid[]): Promise<Map<Oid, number>>
  /** True when objectSizes answers thousands of ids in a few requests (object-info), not one request per id. */
  readonly batchSizes?: boolean
  /** One raw tree by id without fetching a commit (Mega). */
  fetchTree?(oid: Oid): Promise<RawObject>
  /** Updates `ref` from `oldOid` to `newOid`; throws RemoteError('non-fast-forward' | 'push-rejected'). */
  push(request: PushRequest): Promise<void>
  close?(): Promise<void>
}

/** Makes a filesystem-safe cache key from a URL or path (no userinfo, no query). */
export function remoteKey(raw: string): string {
  let base = raw
  try {
    const u = new URL(raw)
    base = `${u.hostname}${u.port ? '_' + u.port : ''}${u.pathname}`
  } catch {
    /* a path */
  }
  const key = base.replace(/\.git\/?$/, '').replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '')
  return key.slice(0, 120) || 'remote'
}
