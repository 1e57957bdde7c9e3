// `--bind HOST:PORT` parsing and the rule that a non-loopback bind needs a bearer token.
import { timingSafeEqual, createHash } from 'node:crypto'
import { isIP } from 'node:net'
import { UsageError } from '../errors.ts'

export const DEFAULT_BIND = '127.0.0.1:2726'
export const MIN_TOKEN_LENGTH = 16

export interface BindAddress {
  host: string
  port: number
}

/** `127.0.0.1:2726`, `[::1]:2726`, `localhost:0`, `2726` (loopback), `0.0.0.0:2726`. */
export function parseBind(text: string): BindAddress {
  const raw = text.trim()
  let host: string
  let port: string
  const v6 = raw.match(/^\[([^\]]+)\]:(\d+)$/)
  if (v6) [host, port] = [v6[1], v6[2]]
  else if (/^\d+$/.test(raw)) [host, port] = ['127.0.0.1', raw]
  else {
    const i = raw.lastIndexOf(':')
    if (i < 0) throw new UsageError(`--bind "${text}" needs a port: use HOST:PORT, for example ${DEFAULT_BIND}`)
    ;[host, port] = [raw.slice(0, i), raw.slice(i + 1)]
  }
  if (host === '') host = '0.0.0.0'
  const n = Number(port)
  if (!/^\d+$/.test(port) || n > 65535) throw new UsageError(`--bind "${text}" has a bad port "${port}": use 0-65535`)
  if (host !== 'localhost' && !isIP(host) && !/^[A-Za-z0-9.-]+$/.test(host)) throw new UsageError(`--bind "${text}" has a bad host "${host}"`)
  return { host, port: n }
}

export function isLoopback(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return /^::ffff:127\./i.test(host)
}

/** Throws a UsageError when a non-loopback bind has no (or too short a) token. */
export function checkBindSecurity(bind: BindAddress, token: string | undefined): void {
  if (token !== undefined && token.length < MIN_TOKEN_LENGTH) {
    throw new UsageError(`The antares token must be at least ${MIN_TOKEN_LENGTH} characters (try: openssl rand -hex 16)`)
  }
  if (!isLoopback(bind.host) && !token) {
    throw new UsageError(
      `Refusing to serve antares on ${bind.host}:${bind.port} without a token: anyone who reaches that address could mount. ` +
        'Pass --token T (or set SCORPIO_TOKEN) and send "Authorization: Bearer T", or bind to 127.0.0.1',
    )
  }
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s).digest()
}

/** Constant-time check of an `Authorization` header against the token. */
export function authorized(header: string | undefined, token: string | undefined): boolean {
  if (!token) return true
  const m = header?.match(/^Bearer\s+(.+)$/i)
  if (!m) return false
  return timingSafeEqual(digest(m[1].trim()), digest(token))
}
