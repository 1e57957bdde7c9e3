// Request validation: every bad field is a 400 with a message that says what to send instead.
import { existsSync, statSync } from 'node:fs'
import { isAbsolute, normalize } from 'node:path'
import { AntaresError, invalid } from './errors.ts'
import type { CreateMountRequest } from './types.ts'

export interface ValidCreate {
  jobId: string | null
  path: string
  cl: string | null
  upper: string | null
  profile: string | null
}

/** `a/b/` → `/a/b`, `` → error, `..` anywhere → error. Root is `/`. */
export function normalizeRepoPath(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw invalid('path cannot be empty: send "path": "/" for the whole monorepo or "/dir/sub" for a part of it')
  const parts = raw.split('/').filter((p) => p !== '' && p !== '.')
  if (parts.some((p) => p === '..')) throw invalid(`path "${raw}" must not contain ".."`)
  if (parts.some((p) => p.includes('\0'))) throw invalid('path must not contain NUL bytes')
  return '/' + parts.join('/')
}

export function validateJobId(raw: unknown, field = 'job_id'): string {
  if (typeof raw !== 'string' || raw.length === 0) throw invalid(`${field} must be a non-empty string`)
  if (raw.length > 256) throw invalid(`${field} is longer than 256 characters`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) throw invalid(`${field} must not contain control characters`)
  return raw
}

export function validateCl(raw: unknown): string {
  if (typeof raw !== 'string' || raw.trim() === '') throw invalid('cl must be a non-empty string: a Mega CL link or an absolute local directory')
  if (raw.startsWith('/')) {
    if (!existsSync(raw) || !statSync(raw).isDirectory()) throw invalid(`CL directory "${raw}" does not exist`)
  } else if (!/^[A-Za-z0-9._-]{1,128}$/.test(raw)) {
    throw invalid(`cl "${raw}" is neither a Mega CL link (letters, digits, . _ -) nor an absolute directory`)
  }
  return raw
}

export function validateCreate(body: unknown): ValidCreate {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new AntaresError('BAD_PAYLOAD', 'request body must be a JSON object like {"path": "/", "job_id": "job-1"}')
  }
  const b = body as Partial<CreateMountRequest> & Record<string, unknown>
  const known = new Set(['job_id', 'build_id', 'path', 'cl', 'upper', 'profile'])
  const unknown = Object.keys(b).filter((k) => !known.has(k))
  if (unknown.length) throw invalid(`unknown field${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')}: send job_id, path, cl, upper, profile`)
  const path = normalizeRepoPath(b.path)
  let jobId: string | null = null
  if (b.job_id !== undefined && b.job_id !== null) jobId = validateJobId(b.job_id)
  else if (b.build_id !== undefined && b.build_id !== null) jobId = validateJobId(b.build_id, 'build_id')
  const cl = b.cl === undefined || b.cl === null ? null : validateCl(b.cl)
  let upper: string | null = null
  if (b.upper !== undefined && b.upper !== null) {
    if (typeof b.upper !== 'string' || !isAbsolute(b.upper)) throw invalid('upper must be an absolute directory path')
    upper = normalize(b.upper).replace(/(.)\/+$/, '$1')
  }
  let profile: string | null = null
  if (b.profile !== undefined && b.profile !== null) {
    if (typeof b.profile !== 'string' || !isAbsolute(b.profile)) throw invalid('profile must be the absolute path of a file written by scorpio prefetch --record')
    profile = normalize(b.profile)
  }
  return { jobId, path, cl, upper, profile }
}
