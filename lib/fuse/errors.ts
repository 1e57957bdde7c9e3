// Errno at the FUSE boundary (house style 3): lower layers throw FuseError('ENOENT'), the driver
// calls toErrno() once per failed request. Anything unexpected becomes EIO and one log line.

/** Linux errno numbers (the same on x86_64 and arm64). */
export const ERRNO = {
  EPERM: 1, ENOENT: 2, ESRCH: 3, EINTR: 4, EIO: 5, ENXIO: 6, E2BIG: 7, ENOEXEC: 8, EBADF: 9,
  ECHILD: 10, EAGAIN: 11, ENOMEM: 12, EACCES: 13, EFAULT: 14, EBUSY: 16, EEXIST: 17, EXDEV: 18,
  ENODEV: 19, ENOTDIR: 20, EISDIR: 21, EINVAL: 22, ENFILE: 23, EMFILE: 24, ENOTTY: 25, ETXTBSY: 26,
  EFBIG: 27, ENOSPC: 28, ESPIPE: 29, EROFS: 30, EMLINK: 31, EPIPE: 32, EDOM: 33, ERANGE: 34,
  EDEADLK: 35, ENAMETOOLONG: 36, ENOLCK: 37, ENOSYS: 38, ENOTEMPTY: 39, ELOOP: 40, ENODATA: 61,
  ENOATTR: 61, ETIME: 62, ENOLINK: 67, EPROTO: 71, EOVERFLOW: 75, EBADFD: 77, EILSEQ: 84,
  ENOTSOCK: 88, EOPNOTSUPP: 95, ENOTSUP: 95, EADDRINUSE: 98, ENETDOWN: 100, ENETUNREACH: 101,
  ECONNABORTED: 103, ECONNRESET: 104, ENOBUFS: 105, EISCONN: 106, ENOTCONN: 107, ETIMEDOUT: 110,
  ECONNREFUSED: 111, EHOSTUNREACH: 113, EALREADY: 114, EINPROGRESS: 115, ESTALE: 116, EDQUOT: 122,
  ECANCELED: 125, ENOTRECOVERABLE: 131,
} as const

export type ErrnoName = keyof typeof ERRNO

const NAMES = new Map<number, string>()
for (const [name, n] of Object.entries(ERRNO)) if (!NAMES.has(n)) NAMES.set(n, name)

/** errno number → name ('ENOENT'), or `E<n>` when unknown. */
export function errnoName(n: number): string {
  return NAMES.get(n) ?? `E${n}`
}

/** Thrown by a file system to answer a request with an errno. */
export class FuseError extends Error {
  /** Positive errno number. */
  readonly errno: number
  readonly code: string
  constructor(errno: ErrnoName | number, message?: string) {
    const n = typeof errno === 'number' ? Math.abs(errno) : ERRNO[errno]
    if (!n) throw new TypeError(`Unknown errno '${String(errno)}'`)
    const name = typeof errno === 'number' ? errnoName(n) : errno
    // An expected answer (ENOENT from a lookup, ...), never logged with a stack: skip capturing one,
    // which costs more than the rest of a request.
    const limit = Error.stackTraceLimit
    Error.stackTraceLimit = 0
    super(message ?? name)
    Error.stackTraceLimit = limit
    this.name = 'FuseError'
    this.errno = n
    this.code = name
  }
}

/** Maps a thrown value to a positive errno, or undefined when it is unexpected (→ EIO + log).
 *  Understands FuseError, Node system errors (`code: 'ENOENT'`), objects carrying an errno name
 *  (`errno: 'EIO'`, like ScorpioError) and AbortError (→ EINTR). */
export function knownErrno(err: unknown): number | undefined {
  if (err instanceof FuseError) return err.errno
  if (typeof err !== 'object' || err === null) return undefined
  const e = err as { errno?: unknown; code?: unknown; name?: unknown }
  if (typeof e.errno === 'string' && e.errno in ERRNO) return ERRNO[e.errno as ErrnoName]
  if (typeof e.code === 'string' && /^E[A-Z0-9]+$/.test(e.code) && e.code in ERRNO) {
    return ERRNO[e.code as ErrnoName]
  }
  if (e.name === 'AbortError') return ERRNO.EINTR
  return undefined
}

/** Positive errno for a reply: known errors map to themselves, anything else to EIO. */
export function toErrno(err: unknown): number {
  return knownErrno(err) ?? ERRNO.EIO
}
