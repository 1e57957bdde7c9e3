// A loopback TCP proxy that adds a fixed delay each way, so fetch-bound benchmarks see the round
// trips a real network costs (loopback hides them). A new connection also pays one round trip
// before its first byte goes through, as a TCP handshake would. Bytes keep their order: each chunk
// leaves no earlier than `delayMs` after it arrived and never before the chunk ahead of it.
//
//   node --import tsx scripts/bench/latency_proxy.ts --to 127.0.0.1:PORT --delay 10 [--port P]
//   (prints "proxy 127.0.0.1:P -> 127.0.0.1:PORT, +10 ms each way" and runs until Ctrl-C)
import { createConnection, createServer, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { fileURLToPath } from 'node:url'

export interface LatencyProxy {
  /** The proxy's own port on 127.0.0.1. */
  port: number
  /** `url` with its host:port replaced by the proxy's. */
  rewrite(url: string): string
  /** Connections accepted and bytes carried each way since start. */
  readonly stats: { connections: number; up: number; down: number }
  close(): Promise<void>
}

export interface LatencyProxyOptions {
  host?: string
  port: number
  /** Added to every chunk, each way; RTT = 2 x delayMs. */
  delayMs: number
  /** Port to listen on (0: any free one). */
  listenPort?: number
}

/**
 * Forwards `from` to `to`, each chunk `delayMs` later than it arrived, in order. One queue and one
 * timer per direction: a timer per chunk could fire out of order (two chunks of one loop tick whose
 * delays round to different milliseconds), which corrupts the stream.
 */
function delayedPipe(from: Socket, to: Socket, delayMs: number, count: (n: number) => void, startAt: number): void {
  const queue: { chunk: Buffer; due: number }[] = []
  let timer: NodeJS.Timeout | null = null
  let ended = false
  const drain = () => {
    timer = null
    const now = Date.now()
    while (queue.length && queue[0].due <= now) {
      const { chunk } = queue.shift()!
      if (!to.destroyed) to.write(chunk)
    }
    if (queue.length) timer = setTimeout(drain, queue[0].due - now)
    else if (ended) to.end()
  }
  from.on('data', (chunk: Buffer) => {
    count(chunk.length)
    queue.push({ chunk, due: Math.max(Date.now() + delayMs, startAt) })
    if (!timer) timer = setTimeout(drain, queue[0].due - Date.now())
  })
  from.on('end', () => {
    ended = true
    if (!timer && !queue.length) to.end()
  })
}

export function startLatencyProxy(opts: LatencyProxyOptions): Promise<LatencyProxy> {
  const host = opts.host ?? '127.0.0.1'
  const stats = { connections: 0, up: 0, down: 0 }
  const sockets = new Set<Socket>()
  const server = createServer({ noDelay: true }, (client) => {
    stats.connections++
    // The handshake's round trip: the upstream side opens one RTT after the client connected.
    const openAt = Date.now() + 2 * opts.delayMs
    const upstream = createConnection({ host, port: opts.port, noDelay: true })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => { sockets.delete(s); client.destroy(); upstream.destroy() })
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
    delayedPipe(client, upstream, opts.delayMs, (n) => { stats.up += n }, openAt)
    delayedPipe(upstream, client, opts.delayMs, (n) => { stats.down += n }, openAt)
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(opts.listenPort ?? 0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port
      resolve({
        port,
        stats,
        rewrite: (url) => {
          const u = new URL(url)
          u.hostname = '127.0.0.1'
          u.port = String(port)
          return u.toString()
        },
        close: () => new Promise<void>((done) => {
          for (const s of sockets) s.destroy()
          server.close(() => done())
        }),
      })
    })
  })
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2)
  const value = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
  const to = value('--to')
  const delay = Number(value('--delay') ?? 10)
  if (!to || !/^[^:]+:\d+$/.test(to) || !(delay >= 0)) {
    console.error('usage: latency_proxy.ts --to HOST:PORT [--delay MS_EACH_WAY] [--port LISTEN_PORT]')
    process.exit(2)
  }
  const [host, port] = to.split(':')
  const proxy = await startLatencyProxy({ host, port: Number(port), delayMs: delay, listenPort: Number(value('--port') ?? 0) })
  console.log(`proxy 127.0.0.1:${proxy.port} -> ${to}, +${delay} ms each way`)
  process.on('SIGINT', () => { void proxy.close().then(() => process.exit(0)) })
}
