// A worker thread that parses packs while they arrive, so that a big fetch can use two cores: the
// worker inflates and hashes every object, lays whole objects out as records back to back with
// their ids, and vouches for plain trees (pack_scan.ts); the main thread keeps the network, the
// checks the worker could not vouch for, and the pack writing (PackTarget.addBlock: one copy per
// batch). `parse` has the contract of streamPack: every object goes to the target verified (its
// id is the SHA-1 the worker computed from its bytes), the pack's checksum is verified before any
// delta is resolved, and deltas are resolved here, against the target, as streamPack does.
// Several packs can be parsed at once (one job each).
//
// The worker runs from source text (`eval`): inflate.ts's decoder and pack_scan.ts's parser are
// self-contained functions whose text is put in it, so the same code runs bundled, compiled (bun)
// and under Deno, with no file to ship next to the bundle.
import { Worker } from 'node:worker_threads'
import { IntegrityError, RemoteError } from '../errors.ts'
import { trace } from '../trace.ts'
import { inflateModule } from './inflate.ts'
import { bytesToHex } from './sha1.ts'
import { META, packScanModule, type ScanBatch, type ScanDelta, type ScanFailure } from './pack_scan.ts'
import { PackOrder, TYPE_NAMES, type PackTarget, type ReadPackOptions } from './pack_reader.ts'

/** Input sent to the worker and not parsed yet, at most, per pack: the objects parsed from it (~4× as many bytes) wait for the main thread, which is the slower side. */
const AHEAD_BYTES = 512 << 10

/**
 * Input goes to the worker in buffers of this size (a side-band packet is at most 65520 bytes),
 * which it copies and sends back for reuse: no garbage per chunk on either side.
 */
const CHUNK = 65536

/**
 * What the worker runs: the runtime pieces the scanner needs (ScanDeps), then one Scan per job.
 * `__name` is defined for code that tsx (tests) compiled with its keep-names helper.
 */
function workerSource(): string {
  return `
var __name = (f) => f
const { parentPort } = require('node:worker_threads')
const crypto = require('node:crypto')
const zlib = require('node:zlib')
const inflate = (${inflateModule.toString()})()
const { Scan, recycle } = (${packScanModule.toString()})()
const deps = {
  inflate,
  sha1: crypto.hash
    ? (b, start, end) => crypto.hash('sha1', new Uint8Array(b.buffer, b.byteOffset + start, end - start), 'hex')
    : (b, start, end) => crypto.createHash('sha1').update(new Uint8Array(b.buffer, b.byteOffset + start, end - start)).digest('hex'),
  createHash: () => crypto.createHash('sha1'),
  inflateLarge(input, size) {
    try {
      // info: the engine's bytesWritten is the compressed length used; more output than the size
      // announced is an error, not memory.
      const r = zlib.inflateSync(input, { info: true, chunkSize: Math.max(64, Math.min(size + 1, 1 << 20)), maxOutputLength: size + 1 })
      return { body: r.buffer, used: r.engine.bytesWritten }
    } catch (err) {
      if (err && (err.code === 'Z_BUF_ERROR' || /unexpected end/i.test(String(err.message)))) return null
      throw err
    }
  },
}
const scans = new Map()
parentPort.on('message', (m) => {
  if (m.op === 'recycle') return recycle(m.batch)
  try {
    if (m.op === 'start') {
      scans.set(m.id, new Scan(m.what, deps,
        (b) => parentPort.postMessage({ id: m.id, batch: b }, [b.meta.buffer, b.ids.buffer, b.data.buffer, b.subtrees.buffer]),
        (d) => parentPort.postMessage({ id: m.id, delta: d }, [d.delta.buffer])))
      return
    }
    const s = scans.get(m.id)
    if (!s) return
    if (m.op === 'data') {
      s.push(m.chunk)
      parentPort.postMessage({ id: m.id, back: m.chunk.buffer }, [m.chunk.buffer])
    }
    else if (m.op === 'end') s.end()
    else if (m.op === 'drop') scans.delete(m.id)
    if (s.finished) {
      scans.delete(m.id)
      parentPort.postMessage({ id: m.id, done: s.count })
    }
  } catch (err) {
    scans.delete(m.id)
    parentPort.postMessage({ id: m.id, error: err && err.scanFailure ? err : { message: String((err && err.stack) || err) } })
  }
})
`
}

type FromWorker = { id: number } & ({ batch: ScanBatch } | { delta: ScanDelta } | { done: number } | { back: ArrayBuffer } | { error: ScanFailure | { message: string; scanFailure?: undefined } })

interface Job {
  queue: FromWorker[]
  wake: (() => void) | null
}

export class PackWorker {
  private jobs = new Map<number, Job>()
  private next = 1
  /** Input buffers the worker gave back, for the next chunks (see CHUNK). */
  private chunks: ArrayBuffer[] = []
  /** Set once the worker is gone: every job then fails with it. */
  private dead: Error | null = null

  private constructor(private readonly worker: Worker) {
    worker.on('message', (m: FromWorker) => this.deliver(m.id, m))
    const die = (why: string) => {
      if (this.dead) return
      this.dead = new RemoteError('internal', `The pack parsing thread failed (${why}); nothing was stored`)
      for (const [id] of this.jobs) this.deliver(id, null)
    }
    worker.on('error', (err) => die(err.message))
    worker.on('exit', (code) => die(`exit code ${code}`))
    // Only a job in progress keeps the process alive.
    worker.unref()
  }

  /** Starts the thread (it boots while the caller does other things); null where threads are unavailable. */
  static start(): PackWorker | null {
    try {
      // No execArgv: a worker of a process run with a loader (tsx in tests) need not load it. A
      // small young generation: the parser makes little garbage, and a big one only holds it longer.
      return new PackWorker(new Worker(workerSource(), { eval: true, execArgv: [], resourceLimits: { maxYoungGenerationSizeMb: 4 } }))
    } catch (err) {
      trace(`pack worker: not started (${(err as Error).message})`)
      return null
    }
  }

  private deliver(id: number, m: FromWorker | null): void {
    if (m && 'back' in m) {
      if (m.back.byteLength === CHUNK && this.chunks.length < 16) this.chunks.push(m.back)
      return
    }
    const job = this.jobs.get(id)
    if (!job) return
    if (m) job.queue.push(m)
    const wake = job.wake
    job.wake = null
    wake?.()
  }

  /** Parses one pack stream into `target` in the worker (see streamPack); returns the number of objects. */
  async parse(src: AsyncIterable<Uint8Array>, target: PackTarget, options: ReadPackOptions = {}): Promise<number> {
    const what = options.what ?? 'the server'
    const id = this.next++
    const job: Job = { queue: [], wake: null }
    this.jobs.set(id, job)
    const worker = this.worker
    if (this.jobs.size === 1) worker.ref()
    worker.postMessage({ op: 'start', id, what })
    let sent = 0
    let consumed = 0
    let over = false
    let feedError: unknown = null
    let feedWake: (() => void) | null = null
    const wakeFeed = () => {
      const w = feedWake
      feedWake = null
      w?.()
    }
    // Forwards the stream (a copy of each chunk, transferred: the source may reuse its buffers)
    // while the worker parses, never more than AHEAD_BYTES ahead of it.
    const feed = async () => {
      const it = src[Symbol.asyncIterator]()
      let first = true
      for (;;) {
        while (!over && sent - consumed > AHEAD_BYTES) await new Promise<void>((r) => (feedWake = r))
        if (over) return
        const r = await it.next()
        if (over) return
        if (r.done) {
          worker.postMessage({ op: 'end', id })
          return
        }
        if (first) trace('pack: first bytes')
        first = false
        const n = r.value.length
        const chunk = new Uint8Array(n <= CHUNK && this.chunks.length ? this.chunks.pop()! : new ArrayBuffer(Math.max(n, CHUNK)), 0, n)
        chunk.set(r.value)
        sent += n
        worker.postMessage({ op: 'data', id, chunk }, [chunk.buffer])
      }
    }
    const feeding = feed().catch((err) => {
      feedError = err
      this.deliver(id, null)
    })
    const order = new PackOrder()
    const addBlock = target.addBlock ? target.addBlock.bind(target) : null
    const addRecord = target.addRecord ? target.addRecord.bind(target) : null
    let count = -1
    try {
      for (;;) {
        while (job.queue.length === 0) {
          if (feedError) throw feedError
          if (this.dead) throw this.dead
          await new Promise<void>((r) => (job.wake = r))
        }
        const m = job.queue.shift()!
        if ('error' in m) {
          const e = m.error
          if (!e.scanFailure) throw new RemoteError('internal', `The pack parsing thread failed on the pack from ${what}: ${e.message}; nothing was stored`)
          throw e.name === 'IntegrityError' ? new IntegrityError(e.message) : new RemoteError(e.code, e.message)
        }
        if ('done' in m) {
          count = m.done
          break
        }
        if ('delta' in m) {
          const d = m.delta
          order.pending.push({ offset: d.offset, baseOffset: d.baseId ? -1 : d.baseOffset, baseOid: d.baseId ? bytesToHex(d.baseId) : null, delta: d.delta })
          continue
        }
        if (!('batch' in m)) continue
        const batch = m.batch
        const { meta, n } = batch
        consumed = batch.consumed
        wakeFeed()
        for (let e = 1; e < n * META; e += META) order.note(meta[e])
        let r: void | Promise<void>
        if (addBlock) r = addBlock(batch)
        else {
          for (let k = 0, e = 0; k < n; k++, e += META) {
            const oid = bytesToHex(batch.ids, k * 20, k * 20 + 20)
            const typeCode = meta[e] & 7
            r = addRecord
              ? addRecord(oid, batch.ids.subarray(k * 20, k * 20 + 20), typeCode, batch.data, meta[e + 2], meta[e + 3], meta[e + 4])
              : target.add(oid, TYPE_NAMES[typeCode], batch.data.subarray(meta[e + 3], meta[e + 4]))
            if (r) await r
          }
          r = undefined
        }
        if (r) await r
        // The arrays go back to the worker for its next batches.
        worker.postMessage({ op: 'recycle', batch }, [batch.meta.buffer as ArrayBuffer, batch.ids.buffer as ArrayBuffer, batch.data.buffer as ArrayBuffer, batch.subtrees.buffer as ArrayBuffer])
      }
    } finally {
      over = true
      wakeFeed()
      if (count < 0 && !this.dead) worker.postMessage({ op: 'drop', id })
      this.jobs.delete(id)
      if (this.jobs.size === 0) worker.unref()
      void feeding
    }
    trace('pack: last byte')
    await order.resolve(target, what, options.getBase ?? null)
    return count
  }

  /** Stops the thread (jobs still running fail). */
  async close(): Promise<void> {
    if (!this.dead) this.dead = new RemoteError('internal', 'The pack parsing thread was stopped; nothing was stored')
    for (const [id] of this.jobs) this.deliver(id, null)
    await this.worker.terminate()
  }
}
