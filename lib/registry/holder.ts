// A lock file that names the process holding it. It is created with its text in one step (written
// to a temporary file, then hard-linked to its name, which fails when the name exists): a plain
// `open(O_EXCL)` + `write` leaves an empty file for a moment, and a reader that judges an empty lock
// abandoned removes it while its holder goes on, so two processes believe they hold it.
import { promises as fsp } from 'node:fs'
import { hostname } from 'node:os'
import { basename, dirname, join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { pidAlive, pidStartTime } from './mountinfo.ts'

const HOST = hostname()

/** `pid start host token`: this process, told apart from a later one given the same pid. */
export function holderText(): string {
  return `${process.pid} ${pidStartTime(process.pid) ?? ''} ${HOST} ${randomBytes(6).toString('hex')}`
}

/** Creates `path` holding `text`; false when it exists. */
export async function createLock(path: string, text: string): Promise<boolean> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString('hex')}`)
  await fsp.writeFile(tmp, text)
  try {
    await fsp.link(tmp, path)
    return true
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw e
  } finally {
    await fsp.rm(tmp, { force: true })
  }
}

/**
 * True when the holder named by a lock's text is gone: on this host (or with no host named, as
 * older versions wrote the pid alone), its pid is dead or now another process; with `stale`, also
 * when the lock was not touched for `stale.afterMs` (the only sign of a holder on another host, or
 * of an empty lock). Without it, only a dead holder ends a lock.
 */
export function holderGone(text: string, stale?: { mtimeMs: number; afterMs: number }): boolean {
  if (stale && Date.now() - stale.mtimeMs > stale.afterMs) return true
  const [pid, start, host] = text.split(' ')
  if ((host && host !== HOST) || !pid) return false
  const n = Number(pid)
  return !pidAlive(n) || (!!start && pidStartTime(n) !== start)
}

/** Removes the lock at `path` if it still holds `text` (a lock judged stale, or one's own). */
export async function removeLockIf(path: string, text: string): Promise<void> {
  if ((await fsp.readFile(path, 'utf8').catch(() => null)) === text) await fsp.rm(path, { force: true })
}
