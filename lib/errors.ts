// Domain errors carry a stable `code`; the CLI prints `message` as one line (no stack trace) and
// the FUSE boundary maps `errno` (when set) to the reply. See DESIGN.md, house style 3 and 4.

export class ScorpioError extends Error {
  readonly code: string
  /** errno name (ENOENT, EIO, ...) to answer the kernel with when this crosses the FUSE boundary. */
  readonly errno?: string
  constructor(code: string, message: string, options: { cause?: unknown; errno?: string } = {}) {
    super(message, { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.errno = options.errno
  }
}

/** A mistake of the user's: wrong flag, missing argument, bad path. Exit code 2. */
export class UsageError extends ScorpioError {
  constructor(message: string) {
    super('usage', message)
  }
}

/** The server or network misbehaved: unreachable, timeout, bad reply, hostile data. */
export class RemoteError extends ScorpioError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, { ...options, errno: 'EIO' })
  }
}

/** Bytes that do not match the object id they claim: never stored. */
export class IntegrityError extends ScorpioError {
  constructor(message: string) {
    super('integrity', message, { errno: 'EIO' })
  }
}

/** Something went wrong in the workspace (state dir, upper layer, journal). */
export class WorkspaceError extends ScorpioError {
  constructor(code: string, message: string, options: { cause?: unknown } = {}) {
    super(code, message, options)
  }
}

/** Removes user:password@ and token query parameters from a URL before it reaches a log line. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url)
    if (u.username || u.password) {
      u.username = u.password ? '***' : '***'
      u.password = ''
    }
    for (const key of [...u.searchParams.keys()]) {
      if (/token|key|secret|password|auth/i.test(key)) u.searchParams.set(key, '***')
    }
    return u.toString()
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//***@')
  }
}
