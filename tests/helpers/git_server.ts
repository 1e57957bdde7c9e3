// A real Git smart-HTTP server for tests: Debian git's git-http-backend run as CGI behind a tiny
// Node HTTP server on 127.0.0.1 (random port) over a directory of bare repositories. Protocol v2
// (Git-Protocol header → GIT_PROTOCOL) and receive-pack work. Counters prove laziness and sharing;
// `intercept` lets hostile-server tests break replies on purpose.
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend'

export interface RequestInfo {
  method: string
  /** Path after the server root, e.g. `/repo.git/git-upload-pack`. */
  path: string
  query: string
  headers: IncomingMessage['headers']
  body: Buffer
  /** Reply body bytes, once sent. */
  bytes?: number
}

/** One line for a request: the protocol v2 command, how many ids it asks for, its filter and depth. */
export function describeRequest(req: RequestInfo): string {
  const body = req.body.toString('latin1')
  const command = /command=([\w-]+)/.exec(body)?.[1] ?? `${req.method} ${req.path.split('/').pop()}`
  const ids = (body.match(/(?:want|oid) [0-9a-f]{40}/g) ?? []).length
  const extra = [/filter [^\n]+/.exec(body)?.[0], /deepen \d+/.exec(body)?.[0]].filter(Boolean).join(' ')
  return `${command} ids=${ids}${extra ? ' ' + extra : ''}`
}

/** What an interceptor may do with one request. Return undefined to serve it normally. */
export interface Interception {
  /** Answer with this status and body instead of running the backend. */
  status?: number
  body?: string | Buffer
  /** Never answer (until the server closes). */
  hang?: boolean
  /** Serve it once this settles (a test holds requests to see what piles up meanwhile). */
  after?: Promise<unknown>
  /** Rewrite the request body before the backend sees it. */
  rewriteRequest?: (body: Buffer) => Buffer
  /** Rewrite the backend's reply body before it is sent. */
  rewriteResponse?: (body: Buffer) => Buffer
}

export interface GitServer {
  /** Base URL, `http://127.0.0.1:PORT`. */
  base: string
  /** URL of one repository under the root: `url('repo.git')`. */
  url(repoName: string): string
  /** Requests served (all kinds) and reply body bytes sent, since start or `reset()`. */
  readonly requests: number
  readonly bytesSent: number
  /** Requests by path suffix, e.g. `git-upload-pack`. */
  readonly log: RequestInfo[]
  reset(): void
  intercept: ((req: RequestInfo) => Interception | undefined) | null
  close(): Promise<void>
}

export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => resolve(Buffer.concat(chunks)))
    req.on('error', reject)
  })
}

export function runGitCgi(root: string, info: RequestInfo, res: ServerResponse, rewrite?: (b: Buffer) => Buffer): Promise<number> {
  return new Promise((resolve) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      REQUEST_METHOD: info.method,
      PATH_INFO: info.path,
      QUERY_STRING: info.query,
      CONTENT_TYPE: String(info.headers['content-type'] ?? ''),
      CONTENT_LENGTH: String(info.body.length),
      REMOTE_ADDR: '127.0.0.1',
      REMOTE_USER: 'tester',
      GIT_CONFIG_NOSYSTEM: '1',
      HOME: '/nonexistent',
    }
    if (info.headers['git-protocol']) env.GIT_PROTOCOL = String(info.headers['git-protocol'])
    if (info.headers['content-encoding']) env.HTTP_CONTENT_ENCODING = String(info.headers['content-encoding'])
    const child = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] })
    let head = Buffer.alloc(0)
    let headersDone = false
    let sent = 0
    const held: Buffer[] = []
    child.stderr.on('data', () => {})
    child.stdin.on('error', () => {})
    child.stdin.end(info.body)
    const finishHeaders = (raw: string) => {
      let status = 200
      for (const line of raw.split(/\r?\n/)) {
        const i = line.indexOf(':')
        if (i < 0) continue
        const k = line.slice(0, i).trim()
        const v = line.slice(i + 1).trim()
        if (k.toLowerCase() === 'status') status = parseInt(v, 10)
        else if (!(rewrite && k.toLowerCase() === 'content-length')) res.setHeader(k, v)
      }
      res.statusCode = status
    }
    const emit = (b: Buffer) => {
      if (rewrite) held.push(b)
      else {
        sent += b.length
        res.write(b)
      }
    }
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return emit(chunk)
      head = Buffer.concat([head, chunk])
      let end = head.indexOf('\r\n\r\n')
      let sepLen = 4
      if (end < 0) {
        end = head.indexOf('\n\n')
        sepLen = 2
      }
      if (end < 0) return
      headersDone = true
      finishHeaders(head.subarray(0, end).toString())
      const rest = head.subarray(end + sepLen)
      if (rest.length) emit(rest)
    })
    child.on('close', () => {
      if (rewrite) {
        const out = rewrite(Buffer.concat(held))
        sent += out.length
        res.end(out)
      } else res.end()
      resolve(sent)
    })
  })
}

/** Serves every bare repository under `root` (`root/NAME.git` → `url('NAME.git')`). */
export async function startGitServer(root: string): Promise<GitServer> {
  let requests = 0
  let bytesSent = 0
  let generation = 0
  const log: RequestInfo[] = []
  const hanging = new Set<ServerResponse>()
  const state: GitServer = {
    base: '',
    url: (name) => `${state.base}/${name}`,
    get requests() {
      return requests
    },
    get bytesSent() {
      return bytesSent
    },
    log,
    reset() {
      requests = 0
      bytesSent = 0
      log.length = 0
      generation++
    },
    intercept: null,
    close: async () => {
      for (const r of hanging) r.destroy()
      server.closeAllConnections?.()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
  const server = createServer(async (req, res) => {
    // Replies to requests made before a reset() finish later: their bytes do not count after it.
    const gen = generation
    const count = (n: number) => {
      info.bytes = n
      if (gen === generation) bytesSent += n
    }
    requests++
    const u = new URL(req.url ?? '/', 'http://x')
    const info: RequestInfo = { method: req.method ?? 'GET', path: decodeURIComponent(u.pathname), query: u.search.slice(1), headers: req.headers, body: await readBody(req) }
    log.push(info)
    const ic = state.intercept?.(info)
    if (ic?.hang) {
      hanging.add(res)
      return
    }
    if (ic?.after) await ic.after.catch(() => {})
    if (ic?.status) {
      const body = Buffer.from(ic.body ?? `error ${ic.status}\n`)
      count(body.length)
      res.writeHead(ic.status, { 'content-type': 'text/plain' }).end(body)
      return
    }
    if (ic?.rewriteRequest) info.body = ic.rewriteRequest(info.body)
    count(await runGitCgi(root, info, res, ic?.rewriteResponse))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  state.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}
