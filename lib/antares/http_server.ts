// Plain node:http front of the AntaresService: Mega Antares's routes (also under an `/antares`
// prefix, as Mega's mono server mounts them), JSON in and out, errors as `{error, code}`.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { UsageError } from '../errors.ts'
import { authorized, checkBindSecurity, parseBind, DEFAULT_BIND } from './bind.ts'
import { AntaresError } from './errors.ts'
import type { AntaresService } from './service.ts'
import type { ErrorBody } from './types.ts'

const MAX_BODY = 64 * 1024

export interface AntaresServerOptions {
  /** `HOST:PORT` (default 127.0.0.1:2726; port 0 picks a free one). */
  bind?: string
  /** Bearer token; required for a non-loopback bind. */
  token?: string
  log?: (line: string) => void
}

export interface AntaresServer {
  /** `http://host:port` actually bound. */
  url: string
  port: number
  server: Server
  /** Stops accepting requests, unmounts every job, releases the state dir. */
  close(): Promise<void>
}

type Handler = (service: AntaresService, params: string[], req: IncomingMessage) => Promise<unknown> | unknown

interface Route {
  pattern: RegExp
  methods: Record<string, Handler>
}

const seg = '([^/]+)'
const ROUTES: Route[] = [
  { pattern: /^\/health$/, methods: { GET: (s) => s.health() } },
  { pattern: /^\/stats$/, methods: { GET: (s) => s.stats() } },
  {
    pattern: /^\/mounts$/,
    methods: {
      GET: (s) => ({ mounts: s.list() }),
      POST: async (s, _p, req) => s.create(await readJson(req)),
    },
  },
  {
    pattern: new RegExp(`^/mounts/by-job/${seg}$`),
    methods: { GET: (s, [job]) => s.describeByJob(job), DELETE: (s, [job]) => s.deleteByJob(job) },
  },
  {
    pattern: new RegExp(`^/mounts/${seg}/cl$`),
    methods: { POST: async (s, [id], req) => s.setCl(id, await readJson(req)), DELETE: (s, [id]) => s.clearCl(id) },
  },
  { pattern: new RegExp(`^/mounts/${seg}/ready$`), methods: { GET: (s, [id]) => s.ready(id) } },
  {
    pattern: new RegExp(`^/mounts/${seg}$`),
    methods: { GET: (s, [id]) => s.describe(id), DELETE: (s, [id]) => s.delete(id) },
  },
]

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size > MAX_BODY) throw new AntaresError('BAD_PAYLOAD', `request body is larger than ${MAX_BODY} bytes`)
    chunks.push(chunk as Buffer)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') throw new AntaresError('BAD_PAYLOAD', 'request body is empty: send a JSON object')
  try {
    return JSON.parse(text)
  } catch (e) {
    throw new AntaresError('BAD_PAYLOAD', `request body is not valid JSON: ${(e as Error).message}`)
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body) + '\n'
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store' })
  res.end(text)
}

function errorBody(err: unknown, log: (line: string) => void): [number, ErrorBody] {
  if (err instanceof AntaresError) return [err.status, { error: err.message, code: err.apiCode }]
  if (err instanceof UsageError) return [400, { error: err.message, code: 'INVALID_REQUEST' }]
  log(`internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`)
  return [500, { error: err instanceof Error ? err.message.split('\n')[0] : String(err), code: 'INTERNAL_ERROR' }]
}

/** Routes one request; exported for tests that want a handler without a socket. */
export async function handleRequest(service: AntaresService, req: IncomingMessage, res: ServerResponse, options: { token?: string; log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? (() => {})
  try {
    const url = new URL(req.url ?? '/', 'http://antares')
    let path = url.pathname.replace(/\/+$/, '') || '/'
    if (path === '/antares' || path.startsWith('/antares/')) path = path.slice('/antares'.length) || '/'
    const method = (req.method ?? 'GET').toUpperCase()
    const isHealth = path === '/health' && method === 'GET'
    if (!isHealth && !authorized(req.headers.authorization, options.token)) {
      res.setHeader('www-authenticate', 'Bearer')
      throw new AntaresError('UNAUTHORIZED', 'missing or wrong bearer token: send "Authorization: Bearer <token>"')
    }
    if (service.shuttingDown) throw new AntaresError('SHUTDOWN', 'the antares server is shutting down; retry against its next start')
    for (const route of ROUTES) {
      const m = route.pattern.exec(path)
      if (!m) continue
      const handler = route.methods[method]
      if (!handler) {
        res.setHeader('allow', Object.keys(route.methods).join(', '))
        throw new AntaresError('METHOD_NOT_ALLOWED', `${method} is not allowed on ${path}: use ${Object.keys(route.methods).join(' or ')}`)
      }
      let params: string[]
      try {
        params = m.slice(1).map((p) => decodeURIComponent(p))
      } catch {
        throw new AntaresError('INVALID_REQUEST', `bad percent-encoding in ${path}`)
      }
      send(res, 200, await handler(service, params, req))
      return
    }
    throw new AntaresError('NOT_FOUND', `no route ${method} ${path}: see GET /health, /stats, /mounts, /mounts/{id}, /mounts/by-job/{job_id}, /mounts/{id}/ready, /mounts/{id}/cl`)
  } catch (err) {
    const [status, body] = errorBody(err, log)
    if (!res.headersSent) send(res, status, body)
    else res.destroy()
  }
}

/** Binds the HTTP server (after the bind/token check) in front of an already started service. */
export async function listenAntares(service: AntaresService, options: AntaresServerOptions = {}): Promise<AntaresServer> {
  const bind = parseBind(options.bind ?? DEFAULT_BIND)
  const token = options.token || undefined
  checkBindSecurity(bind, token)
  const log = options.log ?? ((line: string) => process.stderr.write(`antares: ${line}\n`))
  const server = createServer((req, res) => {
    void handleRequest(service, req, res, { token, log })
  })
  server.keepAliveTimeout = 5000
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') reject(new UsageError(`Address ${bind.host}:${bind.port} is already in use: pick another --bind port`))
      else if (err.code === 'EADDRNOTAVAIL') reject(new UsageError(`Cannot bind ${bind.host}: no such local address`))
      else reject(err)
    })
    server.listen(bind.port, bind.host, () => resolve())
  })
  const addr = server.address() as AddressInfo
  const host = addr.family === 'IPv6' || addr.address.includes(':') ? `[${addr.address}]` : addr.address
  let closing: Promise<void> | undefined
  return {
    url: `http://${host}:${addr.port}`,
    port: addr.port,
    server,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        await service.shutdown()
        server.closeAllConnections?.()
        await stopped
      })()
      return closing
    },
  }
}
