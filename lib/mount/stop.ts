// Stopping a mount from another process (`scorpio umount`): ask the serving process (SIGTERM to
// its registered pid), wait for it, fall back to umount / umount -l of a dead mount.
import { resolve } from 'node:path'
import { ScorpioError } from '../errors.ts'
import { canonicalPath, dropRecord, findMount, fuseMountAt, pidAlive, pidStartTime } from '../registry/mod.ts'
import type { MountRecord } from '../registry/mod.ts'
import { detachMount } from './mountpoint.ts'

export interface StopResult {
  /** What happened: stopped a live mount, cleaned a dead one, or found nothing. */
  outcome: 'stopped' | 'cleaned' | 'not-mounted'
  mountpoint: string
  pid?: number
}

export interface StopOptions {
  /** Seconds to wait for the serving process to finish its unmount (default 30). */
  timeout?: number
  /** Asks the serving process to stop some other way (control socket); return false to fall back to SIGTERM. */
  requestStop?: (rec: MountRecord) => Promise<boolean>
}

function sameProcess(rec: MountRecord): boolean {
  if (!pidAlive(rec.pid)) return false
  const start = pidStartTime(rec.pid)
  return rec.pidStart === undefined || start === undefined || start === rec.pidStart
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (Date.now() < end) {
    if (cond()) return true
    await new Promise((r) => setTimeout(r, 50))
  }
  return cond()
}

export async function stopMount(mountpoint: string, options: StopOptions = {}): Promise<StopResult> {
  const abs = resolve(mountpoint)
  const dir = fuseMountAt(abs) ? abs : canonicalPath(abs)
  const rec = findMount(dir, { includeStale: true })
  const timeoutMs = (options.timeout ?? 30) * 1000
  if (rec && sameProcess(rec)) {
    const asked = options.requestStop ? await options.requestStop(rec).catch(() => false) : false
    if (!asked) {
      try {
        process.kill(rec.pid, 'SIGTERM')
      } catch {
        /* it just exited */
      }
    }
    let gone = await waitFor(() => !pidAlive(rec.pid), timeoutMs)
    if (!gone) {
      // The process is stuck (e.g. a hung remote): detach the mount; its FUSE loop then ends.
      detachMount(dir)
      gone = await waitFor(() => !pidAlive(rec.pid), 5000)
      if (!gone) throw new ScorpioError('umount', `The mount process ${rec.pid} for "${mountpoint}" did not stop; the mount was detached, kill ${rec.pid} to end it`)
    }
    if (fuseMountAt(dir)) detachMount(dir)
    dropRecord(rec)
    return { outcome: 'stopped', mountpoint: dir, pid: rec.pid }
  }
  if (fuseMountAt(dir)) {
    if (!detachMount(dir)) throw new ScorpioError('umount', `Cannot unmount "${mountpoint}"; run umount -l "${dir}" as root`)
    if (rec) dropRecord(rec)
    return { outcome: 'cleaned', mountpoint: dir }
  }
  if (rec) dropRecord(rec)
  return { outcome: 'not-mounted', mountpoint: dir }
}
