// Overlay errors carry an errno name in `code`, like Node's own fs errors, so the VFS maps both
// the same way at the FUSE boundary.
export interface ErrnoError extends Error {
  code: string
}

export function fsError(code: string, message: string): ErrnoError {
  return Object.assign(new Error(`${code}: ${message}`), { code })
}

export function errnoOf(e: unknown): string | undefined {
  const x = e as { errno?: unknown; code?: unknown }
  if (typeof x?.errno === 'string' && /^E[A-Z0-9]+$/.test(x.errno)) return x.errno
  if (typeof x?.code === 'string' && /^E[A-Z0-9]+$/.test(x.code)) return x.code
  return undefined
}

export function isErrno(e: unknown, ...codes: string[]): boolean {
  const c = errnoOf(e)
  return c !== undefined && codes.includes(c)
}
