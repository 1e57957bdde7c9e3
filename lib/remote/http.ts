// HTTP for the remotes: ky with timeouts, retries with backoff on network errors, 408/429/5xx
// (POST included: upload-pack and REST reads are idempotent), redirects, and auth from the URL's
// userinfo, SCORPIO_TOKEN / SCORPIO_AUTHORIZATION / options, or `git credential fill`.
// Secrets never reach messages: every URL in an error goes through redactUrl.
import { spawn } from 'node:child_process'
import ky, { HTTPError, TimeoutError } from 'ky'
import { RemoteError, redactUrl } from '../errors.ts'

export interface HttpOptions {
  token?: string
  timeoutMs?: number
  retries?: number
  fetch?: typeof fetch
}

export interface HttpClient {
  /** Base URL without userinfo. */
  base: string
  request(url: string, init: { method?: string; headers?: Record<string, string>; body?: Uint8Array; retry?: boolean; allowStatus?: number[] }): Promise<Response>
  /** Body chunks, each read bounded by the timeout (a hung server becomes an error). */
  body(res: Response, what: string): AsyncIterable<Uint8Array>
  describe(): string
}

function credentialFill(url: URL): Promise<{ username: string; password: string } | null> {
  return new Promise((resolve) => {
    const child = spawn('git', ['credential', 'fill'], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } })
    let out = ''
    child.stdout.on('data', (d) => (out += d))
    child.on('error', () => resolve(null))
    child.on('close', (code) => {
      if (code !== 0) return resolve(null)
      const kv = Object.fromEntries(out.split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
      resolve(kv.username && kv.password ? { username: kv.username, password: kv.password } : null)
    })
    child.stdin.on('error', () => {})
    child.stdin.end(`protocol=${url.protocol.replace(':', '')}\nhost=${url.host}\npath=${url.pathname.replace(/^\//, '')}\n\n`)
  })
}

function basic(user: string, pass: string): string {
  return 'Basic ' + Buffer.from(`${decodeURIComponent(user)}:${decodeURIComponent(pass)}`).toString('base64')
}

export function createHttpClient(rawUrl: string, options: HttpOptions = {}): HttpClient {
  const u = new URL(rawUrl)
  let auth: string | undefined
  if (u.username || u.password) auth = basic(u.username, u.password)
  u.username = ''
  u.password = ''
  const base = u.toString().replace(/\/+$/, '')
  const token = options.token ?? process.env.SCORPIO_TOKEN
  if (!auth && process.env.SCORPIO_AUTHORIZATION) auth = process.env.SCORPIO_AUTHORIZATION
  if (!auth && token) auth = `Bearer ${token}`
  const timeout = options.timeoutMs ?? 30000
  let triedCredential = false
  const api = ky.create({
    timeout,
    throwHttpErrors: true,
    fetch: options.fetch,
    retry: {
      limit: options.retries ?? 3,
      methods: ['get', 'post', 'head'],
      statusCodes: [408, 429, 500, 502, 503, 504],
      backoffLimit: 4000,
    },
  })
  const describe = () => redactUrl(base)

  async function request(url: string, init: Parameters<HttpClient['request']>[1]): Promise<Response> {
    const headers: Record<string, string> = { 'user-agent': 'git/2.39-scorpio', ...init.headers }
    for (let attempt = 0; ; attempt++) {
      if (auth) headers.authorization = auth
      let res: Response | undefined
      try {
        res = await api(url, { method: init.method ?? 'GET', headers, body: init.body, ...(init.retry === false ? { retry: 0 } : {}) })
      } catch (err) {
        if (err instanceof TimeoutError) throw new RemoteError('timeout', `${describe()} did not answer within ${timeout / 1000} s; check the network or raise the timeout`)
        if (!(err instanceof HTTPError)) throw new RemoteError('network', `Cannot reach ${describe()}: ${(err as Error).message}`, { cause: err })
        res = err.response
      }
      if (!res) throw new RemoteError('network', `No reply from ${describe()}`)
      if (res.status === 401 && !triedCredential && attempt === 0) {
        triedCredential = true
        const c = await credentialFill(new URL(base))
        if (c) {
          auth = basic(encodeURIComponent(c.username), encodeURIComponent(c.password))
          continue
        }
      }
      if (res.ok || init.allowStatus?.includes(res.status)) return res
      const text = (await res.text().catch(() => '')).trim().split('\n')[0].slice(0, 200)
      if (res.status === 401 || res.status === 403) {
        throw new RemoteError('auth', `${describe()} refused access (HTTP ${res.status}); set SCORPIO_TOKEN, put credentials in git's credential helper, or check your permissions`)
      }
      if (res.status === 404) throw new RemoteError('not-found', `${redactUrl(url)} not found (HTTP 404)${text ? ': ' + text : ''}`)
      throw new RemoteError('http', `${describe()} answered HTTP ${res.status}${text ? ': ' + text : ''}`)
    }
  }

  async function* body(res: Response, what: string): AsyncIterable<Uint8Array> {
    if (!res.body) return
    const reader = res.body.getReader()
    try {
      for (;;) {
        let timer: ReturnType<typeof setTimeout> | undefined
        const r = await Promise.race([
          reader.read(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(
              () => reject(new RemoteError('timeout', `${describe()} stopped sending ${what} for ${timeout / 1000} s; nothing was stored`)),
              timeout,
            )
          }),
        ]).finally(() => clearTimeout(timer))
        if (r.done) return
        yield r.value
      }
    } finally {
      reader.cancel().catch(() => {})
    }
  }

  return { base, request, body, describe }
}
