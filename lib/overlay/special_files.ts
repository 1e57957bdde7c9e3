// FIFOs, device nodes and Unix sockets in the upper layer. Node and Bun have no mknod(2): FIFOs and
// devices go through the coreutils commands (a few ms each, and rare), a socket is bound for real
// at a temporary name and renamed into place (bind(2) is the only way to make one).
import { execFile } from 'node:child_process'
import { chmodSync, renameSync, rmSync, symlinkSync, unlinkSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { fsError } from './errors.ts'

/** The longest path bind(2) takes (sun_path holds 108 bytes with its NUL). */
const SUN_PATH_MAX = 107

function run(cmd: string, args: string[], what: string): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, (e, _out, stderr) => {
      if (!e) return resolve()
      const msg = String(stderr || e.message).trim()
      const code = /not permitted/i.test(msg) ? 'EPERM' : /exists/i.test(msg) ? 'EEXIST' : /No space/i.test(msg) ? 'ENOSPC' : 'EIO'
      reject(fsError(code, `${what}: ${msg}`))
    }),
  )
}

export function makeFifo(path: string, perm: number): Promise<void> {
  return run('mkfifo', ['-m', perm.toString(8), '--', path], `mkfifo ${path}`)
}

/** A block or character device; `rdev` as the kernel encodes it (new_encode_dev). */
export function makeDevice(path: string, kind: 'b' | 'c', perm: number, rdev: number): Promise<void> {
  const major = (rdev & 0xfff00) >>> 8
  const minor = (rdev & 0xff) | ((rdev >>> 12) & 0xfff00)
  return run('mknod', ['-m', perm.toString(8), '--', path, kind, String(major), String(minor)], `mknod ${path}`)
}

/**
 * A Unix socket file at `path`, bound at `tmp` (same directory tree, same file system) and renamed
 * there; closing the listener afterwards removes nothing, its name is gone. A `tmp` too long for
 * sun_path is reached through a short symlink to its directory.
 */
export async function makeSocket(path: string, perm: number, tmp: string): Promise<void> {
  let bindAt = tmp
  let link: string | undefined
  if (Buffer.byteLength(tmp) > SUN_PATH_MAX) {
    link = join(tmpdir(), `scorpio-${randomBytes(6).toString('hex')}`)
    symlinkSync(dirname(tmp), link)
    bindAt = join(link, basename(tmp))
  }
  const server = createServer()
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) => reject(fsError((e as NodeJS.ErrnoException).code ?? 'EIO', `bind ${path}: ${e.message}`)))
      server.listen(bindAt, () => resolve())
    })
    try {
      chmodSync(tmp, perm)
      renameSync(tmp, path)
    } catch (e) {
      rmSync(tmp, { force: true })
      throw e
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()))
    if (link) unlinkSync(link)
  }
}
