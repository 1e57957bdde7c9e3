// Extended attributes from a runtime without an xattr API (Node, Deno and Bun all lack one): the
// `attr` package's setfattr/getfattr commands. One spawn costs ~8 ms here, so they are used only
// where xattrs are the point: an origin set on a metadata-only rename, user xattrs the user asks
// for, and ONE recursive getfattr at mount to learn every origin in the upper layer.
import { execFile } from 'node:child_process'
import { isInternalName, parseOrigin, PRIVATE_XATTR_PREFIX, UPPER_WORK_DIR, ORIGIN_XATTR, type Origin, formatOrigin } from './upper_format.ts'
import { fsError } from './errors.ts'

function run(cmd: string, args: string[]): Promise<{ stdout: string; stderr: string; code: number }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'latin1', maxBuffer: 1 << 30 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: unknown }) | null
      if (e && e.code === 'ENOENT' && typeof e.code === 'string') {
        reject(fsError('ENOTSUP', `${cmd} is not installed (install the "attr" package)`))
        return
      }
      resolve({ stdout: String(stdout), stderr: String(stderr), code: e ? Number(e.code ?? 1) : 0 })
    })
  })
}

function failure(stderr: string, path: string): Error {
  if (/No such attribute|No data available/i.test(stderr)) return fsError('ENODATA', `no such attribute on ${path}`)
  if (/Operation not supported/i.test(stderr)) return fsError('ENOTSUP', `xattrs not supported on ${path}`)
  if (/No space left/i.test(stderr)) return fsError('ENOSPC', `no space for xattr on ${path}`)
  if (/Argument list too long|Numerical result out of range/i.test(stderr)) return fsError('E2BIG', `xattr too large on ${path}`)
  if (/No such file/i.test(stderr)) return fsError('ENOENT', path)
  if (/Permission denied/i.test(stderr)) return fsError('EACCES', path)
  return fsError('EIO', `xattr command failed on ${path}: ${stderr.trim()}`)
}

const hex = (b: Uint8Array) => '0x' + Buffer.from(b).toString('hex')

export async function setXattr(path: string, name: string, value: Uint8Array): Promise<void> {
  const r = await run('setfattr', ['-h', '-n', name, '-v', value.length === 0 ? '""' : hex(value), '--', path])
  if (r.code !== 0) throw failure(r.stderr, path)
}

export async function removeXattr(path: string, name: string): Promise<void> {
  const r = await run('setfattr', ['-h', '-x', name, '--', path])
  if (r.code !== 0) throw failure(r.stderr, path)
}

/** All xattrs of one file whose names match `pattern` (a getfattr regex). */
export async function getXattrs(path: string, pattern = '^user\\.'): Promise<Map<string, Uint8Array>> {
  const r = await run('getfattr', ['-h', '--absolute-names', '-d', '-e', 'hex', '-m', pattern, '--', path])
  if (r.code !== 0) throw failure(r.stderr, path)
  const out = new Map<string, Uint8Array>()
  for (const line of r.stdout.split('\n')) {
    const m = /^([^#=][^=]*)=(.*)$/.exec(line)
    if (!m) continue
    out.set(m[1], decodeValue(m[2]))
  }
  return out
}

function decodeValue(v: string): Uint8Array {
  if (v.startsWith('0x')) return Uint8Array.from(Buffer.from(v.slice(2), 'hex'))
  if (v.startsWith('"') && v.endsWith('"')) return Uint8Array.from(Buffer.from(v.slice(1, -1), 'latin1'))
  return new Uint8Array(0)
}

/** getfattr prints names with `\ooo` octal escapes for unusual bytes. */
function unescapeName(s: string): string {
  const bytes = Buffer.from(s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8))), 'latin1')
  return bytes.toString('utf8')
}

export async function setOrigin(path: string, origin: Origin): Promise<void> {
  await setXattr(path, ORIGIN_XATTR, new TextEncoder().encode(formatOrigin(origin)))
}

/**
 * Every `user.scorpio.origin` in the upper layer, keyed by workspace path ('a/b'), in one
 * recursive getfattr (symlinks not followed, the work dir skipped).
 */
export async function loadOrigins(upperDir: string): Promise<Map<string, Origin>> {
  const r = await run('getfattr', ['-R', '-P', '-h', '--absolute-names', '-d', '-e', 'hex', '-m', '^user\\.scorpio\\.origin$', '--', upperDir])
  const out = new Map<string, Origin>()
  let file: string | undefined
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) {
      file = unescapeName(line.slice(8))
      continue
    }
    const m = /^([^=]+)=(.*)$/.exec(line)
    if (!m || file === undefined || m[1] !== ORIGIN_XATTR) continue
    let rel = file === upperDir ? '' : file.startsWith(upperDir + '/') ? file.slice(upperDir.length + 1) : undefined
    if (rel === undefined || rel === '') continue
    const parts = rel.split('/')
    if (parts[0] === UPPER_WORK_DIR || parts.some(isInternalName)) continue
    const origin = parseOrigin(decodeValue(m[2]))
    if (origin) out.set(rel, origin)
  }
  return out
}

export function isPrivateXattr(name: string): boolean {
  return name.startsWith(PRIVATE_XATTR_PREFIX)
}
