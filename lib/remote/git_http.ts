// Git smart HTTP, protocol v2 for fetching (ls-refs, fetch with deepen/filter, object-info) and
// git-receive-pack for pushing (receive_pack.ts).
import { IntegrityError, RemoteError } from '../errors.ts'
import { trace } from '../trace.ts'
import { DELIM, FLUSH, PktReader, pkt, pktText } from '../git/pkt_line.ts'
import { MemoryPackTarget, streamPack, type PackTarget } from '../git/pack_reader.ts'
import { demuxSideband } from '../git/sideband.ts'
import type { Oid } from '../store/types.ts'
import { createHttpClient, type HttpClient, type HttpOptions } from './http.ts'
import { pushViaReceivePack } from './receive_pack.ts'
import { remoteKey, type PushRequest, type RawObject, type Remote, type RemoteRef, type StreamOptions } from './types.ts'

const AGENT = 'agent=scorpio/0.1'

export class GitHttpRemote implements Remote {
  readonly key: string
  readonly batchSizes = true
  readonly path: string
  readonly http: HttpClient
  private caps: Promise<Set<string>> | null = null

  constructor(url: string, options: HttpOptions & { path?: string } = {}) {
    this.http = createHttpClient(url, options)
    this.key = remoteKey(this.http.base)
    this.path = (options.path ?? '').replace(/^\/+|\/+$/g, '')
  }

  describe(): string {
    return this.http.describe()
  }

  /** v2 capability advertisement (`GET info/refs?service=git-upload-pack`). */
  capabilities(): Promise<Set<string>> {
    if (!this.caps) {
      this.caps = this.loadCaps()
      this.caps.catch(() => (this.caps = null))
    }
    return this.caps
  }

  private async loadCaps(): Promise<Set<string>> {
    const res = await this.http.request(`${this.http.base}/info/refs?service=git-upload-pack`, { headers: { 'git-protocol': 'version=2' } })
    const r = new PktReader(this.http.body(res, 'capabilities'), `capability advertisement of ${this.describe()}`)
    const caps = new Set<string>()
    let sawVersion = false
    for (;;) {
      const p = await r.read()
      if (!p) break
      if (p.kind !== 'data') {
        if (sawVersion) break
        continue
      }
      const line = pktText(p)
      if (line === 'version 2') sawVersion = true
      else if (sawVersion) caps.add(line)
      else if (!line.startsWith('# service=')) break
    }
    if (!sawVersion) {
      throw new RemoteError('protocol', `${this.describe()} does not speak Git protocol v2 (needed for partial fetches); upgrade the server or use a Mega/local remote`)
    }
    return caps
  }

  private async hasCap(name: string, arg?: string): Promise<boolean> {
    for (const c of await this.capabilities()) {
      if (c === name) return !arg
      if (c.startsWith(name + '=')) return !arg || c.slice(name.length + 1).split(' ').includes(arg)
    }
    return false
  }

  private async command(command: string, args: string[]): Promise<PktReader> {
    // ls-refs is the first command of a session: it goes out together with the capability
    // advertisement (one round trip less) without `object-format` (sha1 is the default), and its
    // reply is used only once the advertisement confirmed protocol v2.
    const capsFirst = command !== 'ls-refs'
    const capsP = this.capabilities()
    const caps = capsFirst ? await capsP : null
    const parts: Uint8Array[] = [pkt(`command=${command}\n`), pkt(AGENT + '\n')]
    if (caps && [...caps].some((c) => c.startsWith('object-format='))) parts.push(pkt('object-format=sha1\n'))
    parts.push(DELIM)
    for (const a of args) parts.push(pkt(a + '\n'))
    parts.push(FLUSH)
    const resP = this.http.request(`${this.http.base}/git-upload-pack`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-git-upload-pack-request',
        accept: 'application/x-git-upload-pack-result',
        'git-protocol': 'version=2',
      },
      body: Buffer.concat(parts),
    })
    let res: Response
    if (capsFirst) res = await resP
    else {
      const [c, r] = await Promise.allSettled([capsP, resP])
      if (c.status === 'rejected') {
        if (r.status === 'fulfilled') void r.value.body?.cancel().catch(() => {})
        throw c.reason
      }
      if (r.status === 'rejected') throw r.reason
      res = r.value
    }
    return new PktReader(this.http.body(res, `the ${command} reply`), `${command} reply from ${this.describe()}`)
  }

  async listRefs(): Promise<RemoteRef[]> {
    const r = await this.command('ls-refs', ['peel', 'symrefs', 'ref-prefix HEAD', 'ref-prefix refs/heads/', 'ref-prefix refs/tags/'])
    const refs: RemoteRef[] = []
    for (;;) {
      const line = await r.readLine()
      if (line === null) break
      const [oid, name, ...attrs] = line.split(' ')
      if (oid === 'unborn') continue
      const ref: RemoteRef = { name, oid }
      for (const a of attrs) {
        if (a.startsWith('symref-target:')) ref.symref = a.slice(14)
        else if (a.startsWith('peeled:')) ref.peeled = a.slice(7)
      }
      refs.push(ref)
    }
    return refs
  }

  /** One v2 fetch: `want` lines + options; each parsed object goes to `target` as it arrives. */
  private async fetchPack(wants: Oid[], extra: string[], target: PackTarget, options: StreamOptions = {}): Promise<void> {
    const args = ['no-progress', 'ofs-delta', ...extra, ...wants.map((w) => `want ${w}`), 'done']
    trace(`fetch: request (${wants.length} wants)`)
    const r = await this.command('fetch', args)
    trace('fetch: reply headers')
    try {
      for (;;) {
        const line = await r.readLine()
        if (line === null) throw new RemoteError('protocol', `${this.describe()} sent no packfile section`)
        if (line === 'packfile') {
          trace('fetch: packfile section')
          break
        }
        if (line.startsWith('ERR ')) throw new RemoteError('remote-error', `${this.describe()} refused the fetch: ${line.slice(4)}`)
        // shallow-info / acknowledgments / wanted-refs sections: skip their lines until the delimiter.
        for (;;) {
          const p = await r.read()
          if (!p || p.kind !== 'data') break
        }
      }
      const pack = demuxSideband(r, { server: this.describe() })
      const n = await (options.worker ? options.worker.parse(pack, target, { what: this.describe() }) : streamPack(pack, target, { what: this.describe() }))
      trace(`fetch: pack parsed (${n} objects)`)
    } catch (err) {
      if (err instanceof RemoteError || err instanceof IntegrityError) throw err
      throw new RemoteError('network', `Fetch from ${this.describe()} failed: ${(err as Error).message}; nothing was stored`, { cause: err })
    }
  }

  async streamCommitTrees(commit: Oid, target: PackTarget): Promise<void> {
    if (!(await this.hasCap('fetch', 'filter'))) {
      throw new RemoteError('no-filter', `${this.describe()} does not allow partial fetches; the server needs uploadpack.allowFilter=true`)
    }
    await this.fetchPack([commit], ['deepen 1', 'filter blob:none'], target)
  }

  async streamFetch(wants: Oid[], args: string[], target: PackTarget, options: StreamOptions = {}): Promise<void> {
    if (args.some((a) => a.startsWith('filter ')) && !(await this.hasCap('fetch', 'filter'))) {
      throw new RemoteError('no-filter', `${this.describe()} does not allow partial fetches; the server needs uploadpack.allowFilter=true`)
    }
    await this.fetchPack([...new Set(wants)], args, target, options)
  }

  async fetchCommitTrees(commit: Oid): Promise<RawObject[]> {
    const t = new MemoryPackTarget()
    await this.streamCommitTrees(commit, t)
    return t.objects
  }

  async streamBlobs(oids: Oid[], target: PackTarget): Promise<void> {
    // blob:none keeps a wanted tree from dragging in its blobs; wanted blobs are always sent.
    const filter = (await this.hasCap('fetch', 'filter')) ? ['filter blob:none'] : []
    await this.fetchPack([...new Set(oids)], filter, target)
  }

  async fetchBlobs(oids: Oid[]): Promise<RawObject[]> {
    const t = new MemoryPackTarget()
    await this.streamBlobs(oids, t)
    return t.objects
  }

  async objectSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    const sizes = new Map<Oid, number>()
    if (!(await this.hasCap('object-info')) || oids.length === 0) return sizes
    for (let i = 0; i < oids.length; i += 5000) {
      const part = oids.slice(i, i + 5000)
      const asked = new Set(part)
      const r = await this.command('object-info', ['size', ...part.map((o) => `oid ${o}`)])
      const first = await r.readLine()
      if (first !== 'size') throw new RemoteError('protocol', `Malformed object-info reply from ${this.describe()}`)
      for (;;) {
        let line = r.readLineNow()
        if (line === undefined) line = await r.readLine()
        if (line === null) break
        // `<oid> <size>`: split by hand (100k lines for a commit's blobs).
        const sp = line.indexOf(' ')
        if (sp < 0) continue
        let end = line.indexOf(' ', sp + 1)
        if (end < 0) end = line.length
        const oid = line.slice(0, sp)
        if (end === sp + 1 || !asked.has(oid)) continue
        let size = 0
        let k = sp + 1
        for (; k < end; k++) {
          const d = line.charCodeAt(k) - 48
          if (d < 0 || d > 9) break
          size = size * 10 + d
        }
        if (k === end) sizes.set(oid, end - sp - 1 > 15 ? Number(line.slice(sp + 1, end)) : size)
      }
    }
    return sizes
  }

  push(req: PushRequest): Promise<void> {
    return pushViaReceivePack(this.http, req)
  }
}

export async function openGitHttpRemote(url: string, options: HttpOptions & { path?: string } = {}): Promise<GitHttpRemote> {
  return new GitHttpRemote(url, options)
}
