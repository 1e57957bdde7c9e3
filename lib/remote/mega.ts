// Mega REST backend (docs/mega.md): blobs, sizes (HEAD), raw trees, directory
// listings, latest commit of a path and CL file lists over REST; refs, the commit + trees fetch and
// push through Mega's git endpoint (smart HTTP, git_http.ts).
import { IntegrityError, RemoteError } from '../errors.ts'
import { EMPTY_BLOB_OID, hashObject, isOid } from '../git/sha1.ts'
import type { Oid } from '../store/types.ts'
import type { PackTarget } from '../git/pack_reader.ts'
import { GitHttpRemote } from './git_http.ts'
import { createHttpClient, type HttpClient, type HttpOptions } from './http.ts'
import { remoteKey, type PushRequest, type RawObject, type Remote, type RemoteRef, type StreamOptions } from './types.ts'

export interface MegaOptions extends HttpOptions {
  /** Subdirectory mounted (`--path /project/x`). */
  path?: string
  /** Mega's git endpoint for the repository; default `<base>/.git`, or SCORPIO_MEGA_GIT_URL. */
  gitUrl?: string
  /** Parallel REST requests (default 16). */
  parallel?: number
}

export interface MegaDirEntry {
  oid: Oid
  name: string
  content_type: 'file' | 'directory'
}

export interface MegaLatestCommit {
  oid: string
  date: string
  short_message: string
  author: string
  committer: string
  status: string
}

export interface ClFile {
  path: string
  /** Blob id (the `sha1:` prefix removed); empty for deletions where the server sends none. */
  oid: Oid
  action: 'new' | 'modified' | 'deleted' | 'renamed'
  /** For `renamed`: the path that disappears (whiteout it). */
  oldPath?: string
  similarity?: number
}

/** `+` and `#` escaped, as the reference client does; the path always starts with `/`. */
export function megaPath(p: string): string {
  const abs = '/' + p.replace(/^\/+/, '')
  return abs.replace(/%/g, '%25').replace(/\+/g, '%2B').replace(/#/g, '%23').replace(/&/g, '%26').replace(/ /g, '%20')
}

async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length)
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++
        out[i] = await fn(items[i])
      }
    }),
  )
  return out
}

export class MegaRemote implements Remote {
  readonly key: string
  readonly path: string
  readonly http: HttpClient
  readonly git: GitHttpRemote
  private parallel: number

  constructor(url: string, options: MegaOptions = {}) {
    this.http = createHttpClient(url, options)
    this.path = (options.path ?? '').replace(/^\/+|\/+$/g, '')
    this.key = 'mega_' + remoteKey(this.http.base)
    const gitUrl = options.gitUrl ?? process.env.SCORPIO_MEGA_GIT_URL ?? `${url.replace(/\/+$/, '')}/.git`
    this.git = new GitHttpRemote(gitUrl, options)
    this.parallel = options.parallel ?? 16
  }

  describe(): string {
    return `mega ${this.http.describe()}`
  }

  private async json<T>(pathAndQuery: string): Promise<T> {
    const res = await this.http.request(`${this.http.base}${pathAndQuery}`, { headers: { accept: 'application/json' } })
    let env: { req_result?: boolean; data?: T; err_message?: string }
    try {
      env = (await res.json()) as typeof env
    } catch {
      throw new RemoteError('protocol', `${this.describe()} sent a reply that is not JSON for ${pathAndQuery.split('?')[0]}`)
    }
    if (!env.req_result) throw new RemoteError('remote-error', `${this.describe()} refused ${pathAndQuery.split('?')[0]}: ${env.err_message || 'no reason given'}`)
    return env.data as T
  }

  private async bytes(res: Response, what: string): Promise<Uint8Array> {
    const parts: Uint8Array[] = []
    for await (const c of this.http.body(res, what)) parts.push(c)
    return Buffer.concat(parts)
  }

  /** Full server path of a path inside the mount. */
  fullPath(p = ''): string {
    return '/' + [this.path, p.replace(/^\/+|\/+$/g, '')].filter(Boolean).join('/')
  }

  listRefs(): Promise<RemoteRef[]> {
    return this.git.listRefs()
  }

  fetchCommitTrees(commit: Oid): Promise<RawObject[]> {
    return this.git.fetchCommitTrees(commit)
  }

  streamCommitTrees(commit: Oid, target: PackTarget): Promise<void> {
    return this.git.streamCommitTrees(commit, target)
  }

  streamFetch(wants: Oid[], args: string[], target: PackTarget, options?: StreamOptions): Promise<void> {
    return this.git.streamFetch(wants, args, target, options)
  }

  async fetchBlobs(oids: Oid[]): Promise<RawObject[]> {
    return pool([...new Set(oids)], this.parallel, async (oid) => {
      if (oid === EMPTY_BLOB_OID) return { oid, type: 'blob' as const, body: new Uint8Array(0) }
      const res = await this.http.request(`${this.http.base}/api/v1/file/blob/${oid}`, {})
      const body = await this.bytes(res, `blob ${oid}`)
      const got = hashObject('blob', body)
      if (got !== oid) throw new IntegrityError(`${this.describe()} sent blob ${got} when asked for ${oid}; nothing was stored`)
      return { oid, type: 'blob' as const, body }
    })
  }

  /** Sizes by `HEAD` (Content-Length), falling back to a one-byte range GET (Content-Range). */
  async objectSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    const sizes = new Map<Oid, number>()
    await pool([...new Set(oids)], this.parallel, async (oid) => {
      const url = `${this.http.base}/api/v1/file/blob/${oid}`
      const head = await this.http.request(url, { method: 'HEAD', allowStatus: [404, 405] })
      const len = head.headers.get('content-length')
      if (head.ok && len && /^\d+$/.test(len) && !head.headers.get('content-encoding')) {
        sizes.set(oid, Number(len))
        return
      }
      const r = await this.http.request(url, { headers: { range: 'bytes=0-0' }, allowStatus: [404, 416] })
      await r.body?.cancel().catch(() => {})
      const m = /\/(\d+)$/.exec(r.headers.get('content-range') ?? '')
      if (r.status === 206 && m) sizes.set(oid, Number(m[1]))
    })
    return sizes
  }

  /** The raw tree of a path inside the mount (`/api/v1/file/tree`), verified against `oid` if given. */
  async treeAt(path: string, oid?: Oid): Promise<RawObject> {
    const q = `path=${megaPath(this.fullPath(path))}${oid ? `&oid=${oid}` : ''}`
    const res = await this.http.request(`${this.http.base}/api/v1/file/tree?${q}`, {})
    const body = await this.bytes(res, 'a tree')
    if (body.length === 0) throw new RemoteError('not-found', `${this.describe()} has no directory ${this.fullPath(path)}${oid ? ` with tree ${oid}` : ''}`)
    const got = hashObject('tree', body)
    if (oid && got !== oid) throw new IntegrityError(`${this.describe()} sent tree ${got} for ${this.fullPath(path)} when asked for ${oid}`)
    return { oid: got, type: 'tree', body }
  }

  /** Directory listing (`/api/v1/tree/content-hash`): names, ids, file or directory (modes are lost). */
  async listDir(path: string): Promise<MegaDirEntry[]> {
    const data = await this.json<MegaDirEntry[]>(`/api/v1/tree/content-hash?path=${megaPath(this.fullPath(path))}`)
    for (const e of data ?? []) if (!isOid(e.oid)) throw new RemoteError('protocol', `${this.describe()} listed "${e.name}" with a malformed id`)
    return data ?? []
  }

  /** Tree id of one directory (`/api/v1/tree/dir-hash`), to notice that it changed upstream. */
  async dirHash(path: string): Promise<Oid | null> {
    const data = await this.json<MegaDirEntry[]>(`/api/v1/tree/dir-hash?path=${megaPath(this.fullPath(path))}`)
    return data?.[0]?.oid ?? null
  }

  latestCommit(path = ''): Promise<MegaLatestCommit> {
    return this.json<MegaLatestCommit>(`/api/v1/latest-commit?path=${megaPath(this.fullPath(path))}`)
  }

  /** The files of a change list; `renamed` entries carry `oldPath` (whiteout it, add `path`). */
  async fetchClFiles(link: string): Promise<ClFile[]> {
    if (!/^[A-Za-z0-9_-]+$/.test(link)) throw new RemoteError('usage', `CL link "${link}" is malformed; it is the short id shown by Mega`)
    const data = await this.json<{ path: string; sha?: string; action: string; old_path?: string; similarity?: number }[]>(`/api/v1/cl/${link}/files-list`)
    return (data ?? []).map((f) => {
      const oid = (f.sha ?? '').replace(/^sha1:/, '')
      if (f.action !== 'deleted' && !isOid(oid)) throw new RemoteError('protocol', `CL ${link} lists "${f.path}" without a valid blob id`)
      if (!['new', 'modified', 'deleted', 'renamed'].includes(f.action)) throw new RemoteError('protocol', `CL ${link} lists "${f.path}" with unknown action "${f.action}"`)
      if (f.action === 'renamed' && !f.old_path) throw new RemoteError('protocol', `CL ${link} renames to "${f.path}" without old_path`)
      const out: ClFile = { path: f.path, oid, action: f.action as ClFile['action'] }
      if (f.old_path) out.oldPath = f.old_path
      if (f.similarity !== undefined) out.similarity = f.similarity
      return out
    })
  }

  push(req: PushRequest): Promise<void> {
    return this.git.push(req)
  }
}

export async function openMegaRemote(url: string, options: MegaOptions = {}): Promise<MegaRemote> {
  return new MegaRemote(url, options)
}

/** CL file list of a Mega server without building a store. */
export function fetchClFiles(url: string, link: string, options: MegaOptions = {}): Promise<ClFile[]> {
  return new MegaRemote(url, options).fetchClFiles(link)
}
