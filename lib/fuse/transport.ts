// Moving bytes between /dev/fuse and the session.
//
// Reading: `readers` worker threads each block in read(2) on the device fd, straight into slots of
// one SharedArrayBuffer, and publish each filled slot with Atomics (a slot state plus a doorbell
// counter). The main thread never blocks on the device, so handlers awaiting the network or timers
// run freely, and no runtime's async-fs thread pool is tied up by reads that may wait forever (Bun
// stalled with two async fs.read calls pending on /dev/fuse). On Deno a worker cannot use the main
// thread's fd through node:fs (per-isolate resource table), so its workers call libc read(2)
// through Deno.dlopen on the same OS fd.
//
// The main thread copies each request out of its slot (the slot is free again at once, so a
// handler waiting on the network holds no slot) and dispatches it. When no request is ready it
// sleeps in Atomics.waitAsync on the doorbell (cheaper than a MessagePort hand-off: nothing is
// cloned or transferred). Waking a sleeping thread costs ~20-25 µs on these VMs, whatever the
// primitive, and a request the main thread answers wakes three (reader, main, caller): so while
// requests follow each other closely (the first one after the last idle moment came within
// SPIN_US), the main thread polls the doorbell for up to SPIN_US before it sleeps. Each reader
// stamps when it read a request, which is how the pump knows. Paired runs: create+write+close
// 2.4-3.1k/s -> 4.2-8.2k/s, first `find` of the 100k tree 17.2-18.0 s -> 10.9-12.5 s. Polling
// always (not only in such runs) was measured before and took the core the caller needs.
//
// Writing: replies go out from the main thread with one writeSync/writevSync per message (the
// kernel never blocks a reply write); big READ data is passed by reference, not copied.
// Notifications can block (the kernel takes inode and page locks that a pending request may hold
// until the main thread answers it): they go through the thread pool (writeAsync).
//
// Some requests never reach the main thread: a reader that reads a question the file system has
// already answered in a reusable way (see answers.ts) writes the answer itself.
import { write, writev, writeSync, writevSync } from 'node:fs'
import { setImmediate } from 'node:timers'
import { Worker } from 'node:worker_threads'
import { ANSWERER_SOURCE, type AnswerCache } from './answers.ts'
import { READ_BUFFER_SIZE } from './kernel.ts'

/** Slots per reader: one being read into while the main thread copies the other. */
const SLOTS_PER_READER = 2
/** Int32 layout of the control array: [doorbell, state of slot 0.., length of slot 0..]. */
const DOORBELL = 0
const STATE = 1
const FREE = 0
const FULL = 1

// Plain JavaScript (CommonJS, run with `eval: true`) so it works unbundled, bundled and compiled.
const READER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { fd, size, ctrlBuf, dataBuf, arriveBuf, first, count, lenBase, answersBuf, reader } = workerData
const ctrl = new Int32Array(ctrlBuf)
const arrive = new Float64Array(arriveBuf)
const slots = []
for (let i = 0; i < count; i++) slots.push(new Uint8Array(dataBuf, (first + i) * size, size))
const CODES = { 2: 'ENOENT', 4: 'EINTR', 11: 'EAGAIN', 19: 'ENODEV', 9: 'EBADF', 22: 'EINVAL' }
let readInto, writeOut
if (typeof Deno !== 'undefined') {
  const lib = Deno.dlopen('libc.so.6', {
    read: { parameters: ['i32', 'buffer', 'usize'], result: 'isize' },
    write: { parameters: ['i32', 'buffer', 'usize'], result: 'isize' },
    __errno_location: { parameters: [], result: 'pointer' },
  })
  readInto = (buf) => {
    const n = Number(lib.symbols.read(fd, buf, buf.length))
    if (n >= 0) return n
    const e = new Deno.UnsafePointerView(lib.symbols.__errno_location()).getInt32(0)
    const err = new Error('read /dev/fuse: errno ' + e)
    err.code = CODES[e] || ('E' + e)
    throw err
  }
  // A failed answer write means the request is gone (interrupted, unmounted): nothing to do.
  writeOut = (buf, len) => { lib.symbols.write(fd, buf, len) }
} else {
  const fs = require('node:fs')
  readInto = (buf) => fs.readSync(fd, buf, 0, buf.length, null)
  writeOut = (buf, len) => { try { fs.writeSync(fd, buf, 0, len) } catch {} }
}
${ANSWERER_SOURCE}
const answer = answersBuf ? makeAnswerer(answersBuf, reader) : undefined
const out = new Uint8Array(256)
for (let k = 0; ; k = (k + 1) % count) {
  const state = ${STATE} + first + k
  while (Atomics.load(ctrl, state) !== ${FREE}) Atomics.wait(ctrl, state, ${FULL})
  let n
  for (;;) {
    try {
      n = readInto(slots[k])
    } catch (err) {
      const code = (err && err.code) || String(err)
      if (code === 'ENOENT' || code === 'EINTR' || code === 'EAGAIN') continue
      n = code
      break
    }
    if (answer && n > 0) {
      const len = answer(slots[k], n, out)
      if (len > 0) { writeOut(out, len); continue }
    }
    break
  }
  if (typeof n === 'string') { parentPort.postMessage(n); break }
  if (n === 0) { parentPort.postMessage('EOF'); break }
  arrive[first + k] = performance.timeOrigin + performance.now()
  Atomics.store(ctrl, lenBase + first + k, n)
  Atomics.store(ctrl, state, ${FULL})
  Atomics.add(ctrl, ${DOORBELL}, 1)
  Atomics.notify(ctrl, ${DOORBELL})
}
`

export interface DeviceChannel {
  /** Writes one message with a single write(2)/writev(2). */
  write(chunks: Uint8Array[]): void
  /** The same from the runtime's thread pool, for a message the kernel may make wait (notifications). */
  writeAsync(chunks: Uint8Array[]): Promise<void>
  /** Resolves with the reason ('ENODEV' when unmounted) once every reader has stopped. */
  readonly stopped: Promise<string>
}

export interface DeviceChannelOptions {
  readers?: number
  /** True while some handler still waits (then the main thread never polls, it yields). */
  busy?: () => boolean
  /** Where an exception thrown by `onRequest` goes (default: one line on stderr). */
  onError?: (err: unknown) => void
  /** Stable answers the readers may give themselves (see answers.ts). */
  answers?: AnswerCache
}

// Atomics.waitAsync (ES2024; Node 20, Deno 2 and Bun have it, the TypeScript lib here does not).
const waitAsync = (Atomics as unknown as {
  waitAsync(a: Int32Array, i: number, v: number): { async: false; value: string } | { async: true; value: Promise<string> }
}).waitAsync

/**
 * Deno's node:fs writes to a descriptor one call at a time: an asynchronous write that the kernel
 * makes wait would hold back the main thread's next reply. There a write that may wait goes through
 * libc write(2) on a thread of Deno's FFI instead (its errno is that thread's: not reported; a
 * failed notification only means there was nothing to invalidate, or no mount any more).
 */
function denoAsyncWrite(fd: number): ((chunks: Uint8Array[]) => Promise<void>) | undefined {
  // deno-lint-ignore no-explicit-any
  const Deno = (globalThis as any).Deno
  if (!Deno?.dlopen) return undefined
  const lib = Deno.dlopen('libc.so.6', { write: { parameters: ['i32', 'buffer', 'usize'], result: 'isize', nonblocking: true } })
  return async (chunks) => {
    const buf = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)
    await lib.symbols.write(fd, buf, buf.length)
  }
}

/** Longest poll of the doorbell before sleeping (µs); SCORPIO_SPIN_US=0 turns polling off. */
const SPIN_US = Number(process.env.SCORPIO_SPIN_US ?? 150)
/** Longest run of requests handled before the event loop gets a turn (timers, I/O completions). */
const BATCH = 64

/** Starts `readers` threads reading requests from `fd`; each arrives through `onRequest`. */
export function openDeviceChannel(fd: number, onRequest: (req: Uint8Array) => void, options: DeviceChannelOptions = {}): DeviceChannel {
  const reportError = options.onError ?? ((err: unknown) => process.stderr.write(`fuse: request dispatch failed: ${String(err)}\n`))
  const count = Math.max(1, options.readers ?? 2)
  const busy = options.busy ?? (() => false)
  const nslots = count * SLOTS_PER_READER
  const lenBase = STATE + nslots
  const ctrl = new Int32Array(new SharedArrayBuffer(4 * (lenBase + nslots)))
  const dataBuf = new SharedArrayBuffer(nslots * READ_BUFFER_SIZE)
  const data = new Uint8Array(dataBuf)
  const cursor = new Array<number>(count).fill(0)
  // When each slot's request was read (ms on the shared clock), for the spin decision below.
  const arrive = new Float64Array(new SharedArrayBuffer(8 * nslots))
  const denoWrite = denoAsyncWrite(fd)

  let running = count
  let reason = ''
  let resolveStopped!: (r: string) => void
  const stopped = new Promise<string>((resolve) => { resolveStopped = resolve })
  const workers: Worker[] = []
  const stopOne = (why: string) => {
    if (!reason) reason = why
    if (--running === 0) resolveStopped(reason)
  }

  /** Takes one ready request out of reader r's next slot, or undefined. */
  const take = (r: number): Uint8Array | undefined => {
    const slot = r * SLOTS_PER_READER + cursor[r]
    if (Atomics.load(ctrl, STATE + slot) !== FULL) return undefined
    const n = Atomics.load(ctrl, lenBase + slot)
    const start = slot * READ_BUFFER_SIZE
    if (idleAt && !firstArrival) firstArrival = arrive[slot]
    const req = data.slice(start, start + n)
    Atomics.store(ctrl, STATE + slot, FREE)
    Atomics.notify(ctrl, STATE + slot)
    cursor[r] = (cursor[r] + 1) % SLOTS_PER_READER
    return req
  }

  /** Dispatches up to BATCH ready requests; returns how many. */
  const drain = (): number => {
    let handled = 0
    for (let more = true; more && handled < BATCH;) {
      more = false
      for (let r = 0; r < count; r++) {
        const req = take(r)
        if (!req) continue
        more = true
        handled++
        const len = req[0] | (req[1] << 8) | (req[2] << 16) | (req[3] << 24)
        try {
          onRequest(len >>> 0 < req.length ? req.subarray(0, len >>> 0) : req)
        } catch (err) {
          // The session answers its own failures; anything escaping must not stop the pump.
          reportError(err)
        }
      }
    }
    return handled
  }

  let closed = false
  const spinMs = SPIN_US / 1000
  let spinning = false
  /** When the pump last ran out of requests, and when the first request after that was read. */
  let idleAt = 0
  let firstArrival = 0
  const yieldToLoop = () => new Promise<void>((r) => setImmediate(r))
  const pump = async (): Promise<void> => {
    let sinceYield = 0
    while (!closed) {
      const bell = Atomics.load(ctrl, DOORBELL)
      const n = drain()
      if (n > 0) {
        // Let handlers that finish without real I/O reply (a few microtask turns), then decide
        // whether to go on or to give the event loop a turn.
        for (let i = 0; i < 8 && busy(); i++) await null
        sinceYield += n
        if (busy() || sinceYield >= BATCH) {
          sinceYield = 0
          await yieldToLoop()
        }
        continue
      }
      sinceYield = 0
      if (idleAt) {
        // Requests that follow each other closely (a tool's loop of syscalls) are worth a spin.
        spinning = firstArrival - idleAt < spinMs
        idleAt = firstArrival = 0
      }
      if (spinMs > 0 && !busy()) {
        idleAt = performance.timeOrigin + performance.now()
        if (spinning) {
          const until = performance.now() + spinMs
          while (Atomics.load(ctrl, DOORBELL) === bell && performance.now() < until);
          if (Atomics.load(ctrl, DOORBELL) !== bell) continue
        }
      }
      const w = waitAsync(ctrl, DOORBELL, bell)
      if (w.async) await w.value
    }
  }

  for (let i = 0; i < count; i++) {
    const w = new Worker(READER_SOURCE, {
      eval: true,
      workerData: {
        fd, size: READ_BUFFER_SIZE, ctrlBuf: ctrl.buffer, dataBuf, arriveBuf: arrive.buffer, first: i * SLOTS_PER_READER, count: SLOTS_PER_READER, lenBase,
        answersBuf: options.answers?.buffer, reader: options.answers?.addReader(),
      },
    })
    workers.push(w)
    let done = false
    w.on('message', (m: string) => {
      if (!done) { done = true; stopOne(m) }
    })
    w.on('error', (err) => { if (!done) { done = true; stopOne(`reader thread failed: ${err.message}`) } })
    w.on('exit', () => { if (!done) { done = true; stopOne('reader thread exited') } })
  }
  void stopped.then(() => {
    // Requests a reader published before it stopped are still answered; then the pump ends.
    drain()
    closed = true
    Atomics.add(ctrl, DOORBELL, 1)
    Atomics.notify(ctrl, DOORBELL)
  })
  void pump().catch((err) => {
    reportError(err)
    resolveStopped(`request pump failed: ${String(err)}`)
  })
  return {
    stopped,
    write(chunks) {
      if (chunks.length === 1) writeSync(fd, chunks[0])
      else writevSync(fd, chunks as NodeJS.ArrayBufferView[])
    },
    writeAsync(chunks) {
      if (denoWrite) return denoWrite(chunks)
      return new Promise((resolve, reject) => {
        const done = (err: NodeJS.ErrnoException | null) => (err ? reject(err) : resolve())
        if (chunks.length === 1) write(fd, chunks[0], done)
        else writev(fd, chunks as NodeJS.ArrayBufferView[], done)
      })
    },
  }
}
