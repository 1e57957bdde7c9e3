// Moving bytes between /dev/fuse and the session.
//
// Reading: `readers` worker threads each block in read(2) on the device fd and hand every request
// to the main thread as a transferred ArrayBuffer. The main thread never blocks on the device, so
// handlers awaiting the network or timers run freely, and no runtime's async-fs thread pool is
// tied up by reads that may wait forever (Bun stalled with two async fs.read calls pending on
// /dev/fuse). On Deno a worker cannot use the main thread's fd through node:fs (per-isolate
// resource table), so its workers call libc read(2) through Deno.dlopen on the same OS fd.
//
// Writing: replies go out from the main thread with one writeSync/writevSync per message (the
// kernel never blocks a reply write); big READ data is passed by reference, not copied.
import { writeSync, writevSync } from 'node:fs'
import { Worker } from 'node:worker_threads'
import { READ_BUFFER_SIZE } from './kernel.ts'

// Plain JavaScript (CommonJS, run with `eval: true`) so it works unbundled, bundled and compiled.
const READER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads')
const { fd, size } = workerData
const CODES = { 2: 'ENOENT', 4: 'EINTR', 11: 'EAGAIN', 19: 'ENODEV', 9: 'EBADF', 22: 'EINVAL' }
let readInto
if (typeof Deno !== 'undefined') {
  const lib = Deno.dlopen('libc.so.6', {
    read: { parameters: ['i32', 'buffer', 'usize'], result: 'isize' },
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
} else {
  const fs = require('node:fs')
  readInto = (buf) => fs.readSync(fd, buf, 0, buf.length, null)
}
let big = new Uint8Array(size)
for (;;) {
  let n
  try {
    n = readInto(big)
  } catch (err) {
    const code = (err && err.code) || String(err)
    if (code === 'ENOENT' || code === 'EINTR' || code === 'EAGAIN') continue
    parentPort.postMessage(code)
    break
  }
  if (n === 0) { parentPort.postMessage('EOF'); break }
  let out
  if (n > 65536) { out = big; big = new Uint8Array(size) } else out = big.slice(0, n)
  parentPort.postMessage(out.buffer, [out.buffer])
}
`

export interface DeviceChannel {
  /** Writes one message with a single write(2)/writev(2). */
  write(chunks: Uint8Array[]): void
  /** Resolves with the reason ('ENODEV' when unmounted) once every reader has stopped. */
  readonly stopped: Promise<string>
}

/** Starts `readers` threads reading requests from `fd`; each arrives through `onRequest`. */
export function openDeviceChannel(fd: number, onRequest: (req: Uint8Array) => void, options: { readers?: number } = {}): DeviceChannel {
  const count = Math.max(1, options.readers ?? 2)
  let running = count
  let reason = ''
  let resolveStopped!: (r: string) => void
  const stopped = new Promise<string>((resolve) => { resolveStopped = resolve })
  const stopOne = (why: string) => {
    if (!reason) reason = why
    if (--running === 0) resolveStopped(reason)
  }
  for (let i = 0; i < count; i++) {
    const w = new Worker(READER_SOURCE, { eval: true, workerData: { fd, size: READ_BUFFER_SIZE } })
    let done = false
    w.on('message', (m: ArrayBuffer | string) => {
      if (typeof m === 'string') {
        if (!done) { done = true; stopOne(m) }
        return
      }
      const len = new DataView(m).getUint32(0, true)
      onRequest(new Uint8Array(m, 0, Math.min(len, m.byteLength)))
    })
    w.on('error', (err) => { if (!done) { done = true; stopOne(`reader thread failed: ${err.message}`) } })
    w.on('exit', () => { if (!done) { done = true; stopOne('reader thread exited') } })
  }
  return {
    stopped,
    write(chunks) {
      if (chunks.length === 1) writeSync(fd, chunks[0])
      else writevSync(fd, chunks as NodeJS.ArrayBufferView[])
    },
  }
}
