// One process of a cache fetches for all of them (issue 16). Claims on disk (flight.ts) kept eight
// mounts reading the same files from fetching an object twice, but each still sent its own requests
// (a batch part-claimed by another went out with the ids left: mostly 1-id requests, and the git
// server's cost is per request) and waited by polling the disk. Here the first process of a cache
// to fetch listens on a Unix socket named after the cache; the others send it their batches, which
// join its own in one batcher, and wait for its answer on the socket.
//
// The socket is in Linux's abstract namespace: the kernel frees the name when its holder dies, so a
// broker killed mid-fetch leaves nothing to clean up; its followers see the connection close, fetch
// what they were waiting for themselves (through the claims) and elect a new broker at their next
// miss. Only processes that can read the cache may use its broker: each request carries the token
// the broker wrote to `<db>/broker-token` (mode 0600) when it was elected. A broker's answer hands
// over the small objects a reader waits for (a follower then neither looks for them on disk nor
// reads them from there: eight followers spent a third of their CPU so) and names the packs of the
// rest. Nothing is taken on trust: a handed object counts only if its bytes hash to its id, and
// whatever else the broker answers, a follower fetches what is not stored, so a broker that fails,
// lies or speaks nonsense costs time, never a wrong or lost object.
import { createHash, randomBytes } from 'node:crypto'
import { promises as fsp, realpathSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { IntegrityError, RemoteError } from '../errors.ts'
import { isOid } from '../git/sha1.ts'
import { trace } from '../trace.ts'
import { isObjectType, type ObjectType, type Oid } from './types.ts'

/** A line longer than this is not from a broker or a follower of ours: the connection is dropped. */
const MAX_LINE = 64 * 1024 * 1024
/** After a failed election (no abstract sockets here), fetches go the claims' way this long. */
const RETRY_MS = 5000

/**
 * The socket of the cache whose object directory is `dbDir`: one per real path and inode, so that
 * a cache removed and made again at the same path (a process of the old one may live on, writing
 * into a directory that is gone) gets a broker of its own.
 */
export function brokerName(dbDir: string): string {
  let key = dbDir
  try {
    const st = statSync(dbDir)
    key = `${realpathSync(dbDir)}\0${st.dev}\0${st.ino}`
  } catch {}
  return `\0scorpio-fetch-${createHash('sha1').update(key).digest('hex')}`
}

/** The broker could not serve (its connection ended, or it failed other than by the server): fetch without it. */
export class BrokerGone extends Error {}

/** An object as a broker hands it over: the follower checks its id before using it. */
export interface HandedObject {
  oid: Oid
  type: ObjectType
  body: Uint8Array
}

/**
 * A broker's answer to a follower: where the objects are stored, and some of them; `trailed`: the
 * ids a reader waits for that another process was already fetching (its read-ahead leads).
 */
export interface Brought {
  packs: string[]
  objects: HandedObject[]
  trailed: Oid[]
}

/**
 * What a broker fetches for a follower: `oids`, of which `ahead` are read-ahead (speculative). It
 * answers with the packs that hold them and, for ids a reader waits for, the objects themselves
 * (small ones, in memory at hand): the follower reads those without a look at the disk. `failed`:
 * the ids it could not fetch, and why.
 */
export type Serve = (oids: Oid[], ahead: Set<Oid>, asker: unknown) => Promise<Brought & { failed: Oid[]; error?: unknown }>

/**
 * The sizes of blobs a broker learns for a follower (from the cache, or one query of its own);
 * `trailed`: it knew them all or was already asking for them (another reader's walk leads).
 */
export type ServeSizes = (oids: Oid[]) => Promise<{ sizes: Map<Oid, number>; trailed: boolean }>

interface Answer {
  id?: unknown
  failed?: unknown
  packs?: unknown
  objects?: unknown
  sizes?: unknown
  trailed?: unknown
  error?: { name?: unknown; code?: unknown; message?: unknown }
}

interface Pending {
  resolve: (answer: Answer) => void
  reject: (e: unknown) => void
}

/** The ids in a list a peer sent (anything else in it is left out). */
function oidsIn(v: unknown): Oid[] {
  return Array.isArray(v) ? v.filter((x): x is Oid => typeof x === 'string' && isOid(x)) : []
}

/** `[oid, type, base64]` rows of an answer; anything else in them is skipped (the follower fetches it). */
function handedObjects(v: unknown): HandedObject[] {
  if (!Array.isArray(v)) return []
  const out: HandedObject[] = []
  for (const row of v) {
    if (!Array.isArray(row) || !isOid(row[0]) || !isObjectType(row[1]) || typeof row[2] !== 'string') continue
    out.push({ oid: row[0], type: row[1], body: Buffer.from(row[2], 'base64') })
  }
  return out
}

/** A follower's connection to the broker; requests are numbered and answered in any order. */
class Link {
  private next = 1
  private pending = new Map<number, Pending>()
  closed = false

  constructor(private readonly socket: Socket, private readonly token: string, onClose: () => void) {
    socket.unref()
    readLines(socket, (line) => this.answer(line), () => {
      this.closed = true
      for (const p of this.pending.values()) p.reject(new BrokerGone('the cache\'s broker went away'))
      this.pending.clear()
      onClose()
    })
  }

  /** Resolves with the names of the packs the objects were stored in (loose ones are not named), the objects handed over and the ids it trailed another process for. */
  async fetch(oids: Oid[], ahead: Oid[]): Promise<Brought> {
    const m = await this.ask({ oids, ahead })
    const packs = Array.isArray(m.packs) ? m.packs.filter((x): x is string => typeof x === 'string') : []
    return { packs, objects: handedObjects(m.objects), trailed: oidsIn(m.trailed) }
  }

  /** The sizes of `oids` the broker knows or learned (those it could not learn are left out). */
  async sizes(oids: Oid[]): Promise<{ sizes: Map<Oid, number>; trailed: boolean }> {
    const m = await this.ask({ sizes: oids })
    const out = new Map<Oid, number>()
    if (Array.isArray(m.sizes)) for (const row of m.sizes) if (Array.isArray(row) && isOid(row[0]) && Number.isSafeInteger(row[1]) && row[1] >= 0) out.set(row[0], row[1])
    return { sizes: out, trailed: m.trailed === true }
  }

  private ask(request: object): Promise<Answer> {
    if (this.closed) return Promise.reject(new BrokerGone('the cache\'s broker went away'))
    const id = this.next++
    // Held while an answer is awaited: a CLI command waiting on the broker must not exit.
    if (!this.pending.size) this.socket.ref()
    return new Promise<Answer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.socket.write(JSON.stringify({ id, token: this.token, ...request }) + '\n')
    }).finally(() => {
      if (!this.pending.size && !this.closed) this.socket.unref()
    })
  }

  private answer(line: string): void {
    let m: Answer
    try {
      m = JSON.parse(line)
    } catch {
      return void this.socket.destroy()
    }
    const p = typeof m.id === 'number' ? this.pending.get(m.id) : undefined
    if (!p) return void this.socket.destroy()
    this.pending.delete(m.id as number)
    if (!Array.isArray(m.failed) || !m.failed.length) return p.resolve(m)
    const e = m.error ?? {}
    const message = typeof e.message === 'string' ? e.message : 'the cache\'s broker could not fetch'
    const code = typeof e.code === 'string' ? e.code : 'remote-error'
    // The server's failure is the follower's too; any other (the broker's disk, its bugs) is not.
    if (e.name === 'IntegrityError') p.reject(new IntegrityError(message))
    else if (e.name === 'RemoteError') p.reject(new RemoteError(code, message))
    else p.reject(new BrokerGone(`the cache's broker failed: ${message}`))
  }

  close(): void {
    this.socket.destroy()
  }
}

/** Splits what arrives on `socket` into lines; `end` runs once when the connection is gone. */
function readLines(socket: Socket, line: (text: string) => void, end: () => void): void {
  // The start of a line not ended yet, in pieces: an answer with objects spans many chunks, and
  // only the newest one is searched for its end.
  let parts: string[] = []
  let held = 0
  let ended = false
  socket.setEncoding('utf8')
  socket.on('data', (chunk: string) => {
    let from = 0
    let nl: number
    while ((nl = chunk.indexOf('\n', from)) >= 0 && !socket.destroyed) {
      const tail = chunk.slice(from, nl)
      const text = parts.length ? parts.join('') + tail : tail
      parts = []
      held = 0
      from = nl + 1
      line(text)
    }
    if (from < chunk.length) parts.push(chunk.slice(from)), (held += chunk.length - from)
    if (held > MAX_LINE) socket.destroy()
  })
  const finish = () => {
    if (ended) return
    ended = true
    end()
  }
  socket.on('error', () => socket.destroy())
  socket.on('close', finish)
}

/**
 * Where this process's fetches go: `route()` gives a link to the cache's broker, or null when this
 * process fetches itself (it is the broker, or none could be reached).
 */
export class FetchBroker {
  private server: Server | null = null
  private link: Link | null = null
  private electing: Promise<void> | null = null
  private failedAt = -Infinity
  private followers = new Set<Socket>()
  private closed = false
  /** What followers must send (set once this process is the broker and has written it). */
  private token: string | null = null
  private readonly name: string
  private readonly tokenPath: string

  /** `dbDir`: the cache's object directory. */
  constructor(dbDir: string, private readonly serve: Serve, private readonly serveSizes: ServeSizes) {
    this.name = brokerName(dbDir)
    this.tokenPath = join(dbDir, 'broker-token')
  }

  async route(): Promise<Link | null> {
    if (this.closed || this.server) return null
    if (this.link && !this.link.closed) return this.link
    if (Date.now() - this.failedAt < RETRY_MS) return null
    this.electing ??= this.elect().finally(() => (this.electing = null))
    await this.electing
    return this.server ? null : this.link
  }

  /** Joins the broker, or becomes it when there is none; at most one listens (the kernel sees to it). */
  private async elect(): Promise<void> {
    for (let attempt = 0; attempt < 3 && !this.closed; attempt++) {
      const socket = await connect(this.name)
      if (socket) {
        // A broker elected a moment ago may not have written its token yet: its answer then ends
        // the connection, this miss is fetched here and the next one joins again.
        const token = await fsp.readFile(this.tokenPath, 'utf8').catch(() => null)
        if (token === null || this.closed) {
          socket.destroy()
          break
        }
        this.link = new Link(socket, token.trim(), () => (this.link = null))
        trace('broker: following the cache\'s broker')
        return
      }
      const server = await listen(this.name, (s) => this.follower(s))
      if (server === 'taken') continue // another process became the broker meanwhile: join it
      if (server && this.closed) server.close()
      else if (server) {
        server.unref()
        this.server = server
        const token = randomBytes(16).toString('hex')
        const tmp = `${this.tokenPath}.${process.pid}.${randomBytes(4).toString('hex')}`
        const written = await fsp
          .writeFile(tmp, token, { mode: 0o600 })
          .then(() => fsp.rename(tmp, this.tokenPath))
          .then(() => true, () => fsp.rm(tmp, { force: true }).then(() => false))
        if (!written) {
          this.server = null
          server.close()
          break
        }
        this.token = token
        trace('broker: fetching for the processes of this cache')
        return
      }
      break
    }
    this.failedAt = Date.now()
  }

  private follower(socket: Socket): void {
    if (this.closed) return void socket.destroy()
    this.followers.add(socket)
    socket.unref()
    readLines(socket, (line) => this.request(socket, line), () => this.followers.delete(socket))
  }

  private request(socket: Socket, line: string): void {
    let m: { id?: unknown; token?: unknown; oids?: unknown; ahead?: unknown; sizes?: unknown }
    try {
      m = JSON.parse(line)
    } catch {
      return void socket.destroy()
    }
    const oids = oidsIn(m.oids)
    const sized = oidsIn(m.sizes)
    if (typeof m.id !== 'number' || !(oids.length || sized.length) || this.token === null || m.token !== this.token) return void socket.destroy()
    const id = m.id
    const reply = (out: object) => void (socket.destroyed || socket.write(JSON.stringify(out) + '\n'))
    const failure = (error: unknown, failed: Oid[]) => {
      const e = error as { name?: string; code?: string; message?: string } | undefined
      return { id, failed, error: { name: e?.name, code: e?.code, message: e?.message } }
    }
    if (sized.length) {
      this.serveSizes(sized).then(
        ({ sizes, trailed }) => reply({ id, sizes: [...sizes], trailed }),
        (err) => reply(failure(err, sized)),
      )
      return
    }
    this.serve(oids, new Set(oidsIn(m.ahead)), socket).then(
      ({ failed, error, packs, objects, trailed }) => {
        const rows = objects.map((o) => [o.oid, o.type, Buffer.from(o.body.buffer, o.body.byteOffset, o.body.length).toString('base64')])
        reply(failed.length ? failure(error, failed) : { id, packs, objects: rows, trailed })
      },
      () => socket.destroy(),
    )
  }

  /** Stops serving (followers fetch themselves, and elect another broker) and leaves the broker. */
  close(): void {
    this.closed = true
    this.server?.close()
    this.server = null
    for (const s of this.followers) s.destroy()
    this.followers.clear()
    this.link?.close()
    this.link = null
  }
}

function connect(name: string): Promise<Socket | null> {
  return new Promise((resolve) => {
    const s = createConnection(name)
    s.once('connect', () => {
      s.removeAllListeners('error')
      resolve(s)
    })
    s.once('error', () => resolve(null))
  })
}

function listen(name: string, onConnection: (s: Socket) => void): Promise<Server | 'taken' | null> {
  return new Promise((resolve) => {
    const server = createServer(onConnection)
    server.once('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'EADDRINUSE' ? 'taken' : null))
    server.listen(name, () => {
      server.removeAllListeners('error')
      server.on('error', () => {})
      resolve(server)
    })
  })
}
