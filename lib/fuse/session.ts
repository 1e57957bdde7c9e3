// One FUSE connection's protocol logic, independent of how bytes move: `dispatch(request bytes)`
// decodes through the OPS table, calls the RawFileSystem and hands reply chunks to `write`.
// Testable without a mount: feed it byte fixtures, collect what it writes.
import type { ConnInfo, DirEnd, DirentSink, RawFileSystem, RequestContext } from './raw_fs.ts'
import { type AnswerCache, changesState } from './answers.ts'
import { ERRNO, errnoName, FuseError, knownErrno } from './errors.ts'
import {
  FUSE_KERNEL_VERSION, FUSE_MAX_SUPPORTED_MINOR, FUSE_MIN_SUPPORTED_MINOR, INIT, IN_HEADER_SIZE,
  MAX_PAGES, MAX_WRITE, NOTIFY, OPCODE, opcodeName, OUT_HEADER_SIZE,
} from './kernel.ts'
import { OPS, type ReplyChunks } from './ops.ts'
import { allocReply, BodyReader, decodeInHeader, DirentBuffer, encodeName, type InHeader, setU64, u64 } from './wire.ts'

export interface SessionOptions {
  /** Writes one message (reply or notification) to the kernel in one write/writev, synchronously:
   *  the chunks may be reused once it returns. */
  write: (chunks: Uint8Array[]) => void
  /** Writes a notification without blocking this thread. The kernel takes the parent's inode lock
   *  for an entry invalidation and page locks for an inode's, which a request waiting for this very
   *  thread may hold: written here synchronously, that would be a deadlock. Without it, `write`. */
  writeNotification?: (chunks: Uint8Array[]) => Promise<void>
  log?: (line: string) => void
  debug?: boolean
  writebackCache?: boolean
  /** Called once INIT was answered successfully. */
  onInit?: (conn: ConnInfo) => void
  /** Where replies marked `stable` are published for the reader threads (answers.ts). */
  answers?: AnswerCache
}

const NO_SIGNAL = new AbortController().signal

export class FuseSession {
  conn?: ConnInfo
  /** Resolves when the kernel sent DESTROY (or end() was called). */
  readonly ended: Promise<void>
  private endResolve!: () => void
  private isEnded = false
  private readonly inflight = new Map<bigint, Context>()
  private readonly direntPool: DirentBuffer[] = []
  private readonly log: (line: string) => void

  constructor(readonly fs: RawFileSystem, readonly options: SessionOptions) {
    this.log = options.log ?? ((line) => process.stderr.write(line + '\n'))
    this.ended = new Promise((resolve) => { this.endResolve = resolve })
  }

  /** Number of requests whose handler has not answered yet. */
  get pending(): number {
    return this.inflight.size
  }

  /** Marks the session finished (DESTROY, ENODEV, unmount) and calls fs.destroy once. */
  async end(): Promise<void> {
    if (this.isEnded) return
    this.isEnded = true
    for (const c of this.inflight.values()) c.abort()
    try {
      await this.fs.destroy?.()
    } catch (err) {
      this.log(`fuse: destroy failed: ${describe(err)}`)
    }
    this.endResolve()
  }

  /** Handles one request read from /dev/fuse. The promise settles after the reply was written. */
  dispatch(buf: Uint8Array): Promise<void> | void {
    if (buf.length < IN_HEADER_SIZE) {
      this.log(`fuse: short request of ${buf.length} bytes ignored`)
      return
    }
    const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength)
    const h = decodeInHeader(view)
    // Request extensions (total_extlen) are only sent for features we never ask for.
    const r = new BodyReader(buf, IN_HEADER_SIZE, Math.min(buf.length, h.len) - h.totalExtlen * 8)
    if (this.options.debug) this.log(`fuse: <- ${opcodeName(h.opcode)} unique=${h.unique} nodeid=${h.nodeid} len=${h.len} pid=${h.pid}`)
    switch (h.opcode) {
      case OPCODE.INIT: return this.init(h, r)
      case OPCODE.DESTROY:
        this.reply(h, [new Uint8Array(OUT_HEADER_SIZE)], 0)
        return this.end()
      case OPCODE.INTERRUPT: {
        const target = r.v.getBigUint64(r.pos, true)
        this.inflight.get(target)?.abort()
        this.fs.interrupt?.(new Context(h, NO_SIGNAL), { unique: target })
        return
      }
    }
    const op = OPS.get(h.opcode)
    let method = op && (this.fs[op.method] as unknown as Function | undefined)
    let input: unknown
    try {
      if (op) input = op.decode(r, h)
    } catch (err) {
      this.log(`fuse: cannot decode ${opcodeName(h.opcode)}: ${describe(err)}`)
      if (!op?.noReply) this.reply(h, null, ERRNO.EINVAL)
      return
    }
    if (op && !method && h.opcode === OPCODE.BATCH_FORGET && this.fs.forget) {
      const forget = this.fs.forget.bind(this.fs)
      method = (ctx: RequestContext, i: { items: { ino: number; nlookup: number }[] }) => {
        for (const item of i.items) forget(ctx, item)
      }
    }
    if (!op || !method) {
      if (!op?.noReply) this.reply(h, null, ERRNO.ENOSYS)
      return
    }
    // Answers published before a change must not outlive it (answers.ts): the epoch moves at the
    // start of every changing request and again just before its reply.
    const answers = this.options.answers
    let epoch = -1
    let changing = false
    if (answers) {
      changing = changesState(h.opcode, input)
      if (changing) answers.bump()
      else epoch = answers.epoch
      answers.drain()
      if (h.opcode === OPCODE.FORGET || h.opcode === OPCODE.BATCH_FORGET) {
        input = ownForgets(answers, h.opcode, input)
        if (!input) return
      }
    }
    if (op.noReply) {
      try {
        const p = method.call(this.fs, new Context(h, NO_SIGNAL), input)
        if (p && typeof p.then === 'function') return p.then(undefined, (err: unknown) => this.fail(h, op.name, err, false))
      } catch (err) {
        this.fail(h, op.name, err, false)
      }
      return
    }
    const ctx = new Context(h)
    this.inflight.set(h.unique, ctx)
    let sink: DirentBuffer | undefined
    let promise: Promise<unknown>
    try {
      if (op.dir) {
        const size = (input as { size: number }).size
        sink = this.direntPool.pop()?.reset(size, op.dir === 'plus') ?? new DirentBuffer(size, op.dir === 'plus')
        promise = method.call(this.fs, ctx, input, sink as DirentSink<never>)
      } else {
        promise = method.call(this.fs, ctx, input)
      }
    } catch (err) {
      this.inflight.delete(h.unique)
      this.fail(h, op.name, err, true)
      return
    }
    return Promise.resolve(promise).then(
      (result) => {
        this.inflight.delete(h.unique)
        let chunks: ReplyChunks
        try {
          if (sink) chunks = [sink.buf.subarray(0, OUT_HEADER_SIZE + sink.used)]
          else chunks = op.encode ? op.encode(result, input) : [new Uint8Array(OUT_HEADER_SIZE)]
        } catch (err) {
          this.fail(h, op.name, err, true)
          return
        }
        if (answers) {
          if (changing) answers.bump()
          else publish(answers, epoch, h, buf, result, chunks[0], sink, input as { offset: number })
        }
        this.reply(h, chunks, 0)
        // The reply was written synchronously: its buffer is free again.
        if (sink && this.direntPool.length < 8 && sink.buf.length <= 64 * 1024) this.direntPool.push(sink)
      },
      (err) => {
        this.inflight.delete(h.unique)
        if (changing) answers!.bump()
        this.fail(h, op.name, err, true)
      },
    )
  }

  private fail(h: InHeader, name: string, err: unknown, reply: boolean): void {
    let errno = knownErrno(err)
    if (errno === undefined) {
      errno = ERRNO.EIO
      this.log(`fuse: ${name} on inode ${h.nodeid} failed with an unexpected error (answered EIO): ${describe(err)}`)
    }
    if (reply) this.reply(h, null, errno)
  }

  /** Writes a reply: header + chunks, or an error (header only). */
  private reply(h: InHeader, chunks: ReplyChunks | null, errno: number): void {
    if (this.isEnded && h.opcode !== OPCODE.DESTROY) return
    const out = chunks ?? [new Uint8Array(OUT_HEADER_SIZE)]
    let len = 0
    for (const c of out) len += c.length
    const v = new DataView(out[0].buffer, out[0].byteOffset, OUT_HEADER_SIZE)
    v.setUint32(0, len, true)
    v.setInt32(4, -errno, true)
    v.setBigUint64(8, h.unique, true)
    if (this.options.debug) {
      this.log(`fuse: -> ${opcodeName(h.opcode)} unique=${h.unique} ${errno ? errnoName(errno) : 'OK'} len=${len}`)
    }
    try {
      this.options.write(out)
    } catch (err) {
      // ENOENT: the request was interrupted and is gone; ENODEV: unmounted meanwhile.
      const code = (err as { code?: string }).code
      if (code !== 'ENOENT' && code !== 'ENODEV') this.log(`fuse: writing the ${opcodeName(h.opcode)} reply failed: ${describe(err)}`)
    }
  }

  private async init(h: InHeader, r: BodyReader): Promise<void> {
    const v = r.v, p = r.pos
    const major = v.getUint32(p, true)
    const kminor = v.getUint32(p + 4, true)
    if (major !== FUSE_KERNEL_VERSION) {
      // A newer major: answer with ours only, the kernel will retry INIT with 7.x.
      const { buf, v: ov } = allocReply(8)
      ov.setUint32(OUT_HEADER_SIZE, FUSE_KERNEL_VERSION, true)
      ov.setUint32(OUT_HEADER_SIZE + 4, FUSE_MAX_SUPPORTED_MINOR, true)
      this.reply(h, major > FUSE_KERNEL_VERSION ? [buf] : null, major > FUSE_KERNEL_VERSION ? 0 : ERRNO.EPROTO)
      return
    }
    if (kminor < FUSE_MIN_SUPPORTED_MINOR) {
      this.log(`fuse: kernel protocol 7.${kminor} is too old (need 7.${FUSE_MIN_SUPPORTED_MINOR} or newer)`)
      this.reply(h, null, ERRNO.EPROTO)
      return
    }
    const maxReadahead = v.getUint32(p + 8, true)
    let kflags = BigInt(v.getUint32(p + 12, true))
    if (kflags & INIT.INIT_EXT && r.end - p >= 20) kflags |= BigInt(v.getUint32(p + 16, true)) << 32n
    const minor = Math.min(kminor, FUSE_MAX_SUPPORTED_MINOR)
    let want = INIT.ASYNC_READ | INIT.BIG_WRITES | INIT.MAX_PAGES | INIT.PARALLEL_DIROPS |
      INIT.ATOMIC_O_TRUNC | INIT.ABORT_ERROR | INIT.CACHE_SYMLINKS | INIT.EXPLICIT_INVAL_DATA | INIT.INIT_EXT |
      INIT.HANDLE_KILLPRIV_V2
    if (this.fs.readdirplus) want |= INIT.DO_READDIRPLUS | INIT.READDIRPLUS_AUTO
    if (this.options.writebackCache) want |= INIT.WRITEBACK_CACHE
    // Without EXPLICIT_INVAL_DATA the kernel invalidates on mtime change itself (AUTO_INVAL_DATA).
    const flags = kflags & want
    const conn: ConnInfo = {
      major, minor, kernelFlags: kflags, flags, maxWrite: MAX_WRITE, maxReadahead,
      maxPages: MAX_PAGES, writebackCache: (flags & INIT.WRITEBACK_CACHE) !== 0n,
    }
    try {
      await this.fs.init?.(conn)
    } catch (err) {
      this.log(`fuse: file system init failed: ${describe(err)}`)
      this.reply(h, null, knownErrno(err) ?? ERRNO.EIO)
      return
    }
    this.conn = conn
    const size = minor < 5 ? 8 : minor < 23 ? 24 : 64
    const { buf, v: ov } = allocReply(size)
    const o = OUT_HEADER_SIZE
    ov.setUint32(o, FUSE_KERNEL_VERSION, true)
    ov.setUint32(o + 4, minor, true)
    ov.setUint32(o + 8, maxReadahead, true)
    ov.setUint32(o + 12, Number(flags & 0xffff_ffffn), true)
    if (size >= 24) {
      ov.setUint16(o + 16, 64, true) // max_background
      ov.setUint16(o + 18, 48, true) // congestion_threshold
      ov.setUint32(o + 20, MAX_WRITE, true)
    }
    if (size >= 64) {
      ov.setUint32(o + 24, 1, true) // time_gran: nanoseconds
      ov.setUint16(o + 28, MAX_PAGES, true)
      ov.setUint32(o + 32, Number(flags >> 32n), true)
    }
    if (this.options.debug) this.log(`fuse: INIT kernel 7.${kminor}, speaking 7.${minor}, flags 0x${flags.toString(16)}`)
    this.reply(h, [buf], 0)
    this.options.onInit?.(conn)
  }

  // ---- notifications (unique 0, error = notify code) ----

  notifyInvalInode(ino: number, off: number, len: number): Promise<void> {
    const { buf, v } = allocReply(24)
    setU64(v, OUT_HEADER_SIZE, ino)
    v.setBigInt64(OUT_HEADER_SIZE + 8, BigInt(off), true)
    v.setBigInt64(OUT_HEADER_SIZE + 16, BigInt(len), true)
    return this.notify(NOTIFY.INVAL_INODE, [buf])
  }

  notifyInvalEntry(parent: number, name: string): Promise<void> {
    const n = encodeName(name)
    const { buf, v } = allocReply(16 + n.length + 1)
    setU64(v, OUT_HEADER_SIZE, parent)
    v.setUint32(OUT_HEADER_SIZE + 8, n.length, true)
    buf.set(n, OUT_HEADER_SIZE + 16)
    return this.notify(NOTIFY.INVAL_ENTRY, [buf])
  }

  notifyDelete(parent: number, child: number, name: string): Promise<void> {
    const n = encodeName(name)
    const { buf, v } = allocReply(24 + n.length + 1)
    setU64(v, OUT_HEADER_SIZE, parent)
    setU64(v, OUT_HEADER_SIZE + 8, child)
    v.setUint32(OUT_HEADER_SIZE + 16, n.length, true)
    buf.set(n, OUT_HEADER_SIZE + 24)
    return this.notify(NOTIFY.DELETE, [buf])
  }

  /** Notifications go out one at a time, so that at most one thread of the pool waits in one. */
  private notifying: Promise<void> = Promise.resolve()

  private notify(code: number, chunks: Uint8Array[]): Promise<void> {
    // Something changed behind the requests' back: no earlier answer may be given again.
    this.options.answers?.bump()
    let len = 0
    for (const c of chunks) len += c.length
    const v = new DataView(chunks[0].buffer, chunks[0].byteOffset, OUT_HEADER_SIZE)
    v.setUint32(0, len, true)
    v.setInt32(4, code, true)
    v.setBigUint64(8, 0n, true)
    // ENOENT: the kernel does not know the inode/entry (nothing cached): nothing to invalidate.
    const unknown = (err: unknown) => {
      if ((err as { code?: string }).code !== 'ENOENT') throw err
    }
    const writeAsync = this.options.writeNotification
    if (!writeAsync) {
      try {
        this.options.write(chunks)
      } catch (err) {
        unknown(err)
      }
      return Promise.resolve()
    }
    const done = this.notifying.then(() => writeAsync(chunks)).catch(unknown)
    this.notifying = done.catch(() => {})
    return done
  }
}

/** A request's context; its AbortController is only made when a handler looks at `signal` (most
 *  never do, and making one per request was a tenth of the driver's time). */
class Context implements RequestContext {
  readonly unique: bigint
  readonly opcode: number
  readonly uid: number
  readonly gid: number
  readonly pid: number
  private ac?: AbortController
  private fixed?: AbortSignal
  private aborted = false
  constructor(h: InHeader, signal?: AbortSignal) {
    this.unique = h.unique
    this.opcode = h.opcode
    this.uid = h.uid
    this.gid = h.gid
    this.pid = h.pid
    this.fixed = signal
  }
  get signal(): AbortSignal {
    if (this.fixed) return this.fixed
    this.ac ??= new AbortController()
    if (this.aborted) this.ac.abort()
    return this.ac.signal
  }
  abort(): void {
    this.aborted = true
    this.ac?.abort()
  }
}

/** Takes the references reader threads handed out (answered LOOKUPs) out of a FORGET first; what
 *  is left is the file system's. Undefined when nothing is. */
function ownForgets(answers: AnswerCache, opcode: number, input: unknown): unknown {
  if (opcode === OPCODE.FORGET) {
    const f = input as { ino: number; nlookup: number }
    const n = answers.forgotten(f.ino, f.nlookup)
    return n > 0 ? { ino: f.ino, nlookup: n } : undefined
  }
  const items: { ino: number; nlookup: number }[] = []
  for (const it of (input as { items: { ino: number; nlookup: number }[] }).items) {
    const n = answers.forgotten(it.ino, it.nlookup)
    if (n > 0) items.push({ ino: it.ino, nlookup: n })
  }
  return items.length > 0 ? { ...(input as object), items } : undefined
}

/** Publishes what a reader thread may answer itself next time (replies marked stable). */
function publish(answers: AnswerCache, epoch: number, h: InHeader, req: Uint8Array, result: unknown, reply: Uint8Array, sink: DirentBuffer | undefined, input: { offset: number }): void {
  const body = reply.subarray(OUT_HEADER_SIZE)
  switch (h.opcode) {
    case OPCODE.LOOKUP: {
      if (!(result as { stable?: boolean })?.stable || body.length < 128 || h.totalExtlen !== 0) return
      const entry = body.subarray(0, 128)
      answers.putEntry(epoch, h.nodeid, req.subarray(IN_HEADER_SIZE, Math.min(req.length, h.len) - 1), entry)
      answers.putAttrFromEntry(epoch, entry)
      return
    }
    case OPCODE.GETATTR:
      if ((result as { stable?: boolean })?.stable) answers.putAttr(epoch, h.nodeid, body)
      return
    case OPCODE.READDIR:
    case OPCODE.READDIRPLUS: {
      if (!sink) return
      // Directories only: reading one marks its atime stale in the kernel, so the next stat of a
      // listed directory comes back as a GETATTR; a file's attributes stay valid in the kernel.
      for (const off of sink.stableEntries) {
        const mode = sink.v.getUint32(off + 100, true)
        if ((mode & 0o170000) === 0o040000) answers.putAttrFromEntry(epoch, sink.buf.subarray(off, off + 128))
      }
      const end = result as DirEnd | undefined
      if (end?.end && end.stable) answers.putDirEnd(epoch, h.nodeid, sink.count > 0 ? sink.lastOff : input.offset)
    }
  }
}

function describe(err: unknown): string {
  if (err instanceof FuseError) return err.code
  if (err instanceof Error) return `${err.name}: ${err.message}${err.stack ? ' @ ' + (err.stack.split('\n')[1]?.trim() ?? '') : ''}`
  return String(err)
}

export { u64 }
