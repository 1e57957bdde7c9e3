// The mounts on this machine: one small JSON file per mount in $XDG_STATE_HOME/scorpio/mounts/,
// written atomically (temp + rename) so that many job mounts may start at once without racing.
// Entries whose process died or whose mount is gone are ignored and removed.
import { createHash } from 'node:crypto'
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve, sep } from 'node:path'
import { fuseMountAt, pidAlive, pidStartTime, readMountInfo } from './mountinfo.ts'
import { canonicalPath } from './real_path.ts'

export { canonicalPath }

export interface MountRecord {
  /** Absolute path of the mountpoint. */
  mountpoint: string
  /** Remote URL with credentials removed. */
  remote: string
  /** Commit shown beneath local changes when the mount started. */
  base: string
  upper: string
  state: string
  cache?: string
  /** Subdirectory of the monorepo that is mounted, if any. */
  path?: string
  pid: number
  /** /proc start time of `pid`, to tell a reused pid apart. */
  pidStart?: string
  /** Control socket of the serving process, if it has one. */
  control?: string
  ephemeral?: boolean
  startedAt: string
}

export interface RegistryOptions {
  /** Registry directory; default `$XDG_STATE_HOME/scorpio/mounts`. */
  dir?: string
  env?: Record<string, string | undefined>
}

export function registryDir(options: RegistryOptions = {}): string {
  if (options.dir) return options.dir
  const env = options.env ?? process.env
  const stateHome = env.XDG_STATE_HOME || join(env.HOME || homedir(), '.local', 'state')
  return join(stateHome, 'scorpio', 'mounts')
}

function recordFile(dir: string, mountpoint: string): string {
  return join(dir, createHash('sha1').update(mountpoint).digest('hex').slice(0, 20) + '.json')
}

export function registerMount(record: MountRecord, options: RegistryOptions = {}): void {
  const dir = registryDir(options)
  mkdirSync(dir, { recursive: true })
  const file = recordFile(dir, record.mountpoint)
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`
  const full: MountRecord = { ...record, pidStart: record.pidStart ?? pidStartTime(record.pid) }
  writeFileSync(tmp, JSON.stringify(full, null, 2) + '\n')
  renameSync(tmp, file)
}

/** Removes the record for `mountpoint`; only when it belongs to `pid` if that is given. */
export function unregisterMount(mountpoint: string, options: RegistryOptions & { pid?: number } = {}): void {
  const file = recordFile(registryDir(options), mountpoint)
  if (options.pid !== undefined) {
    const rec = readRecord(file)
    if (rec && rec.pid !== options.pid) return
  }
  rmSync(file, { force: true })
}

function readRecord(file: string): MountRecord | undefined {
  try {
    const rec = JSON.parse(readFileSync(file, 'utf8')) as MountRecord
    return typeof rec.mountpoint === 'string' && typeof rec.pid === 'number' ? rec : undefined
  } catch {
    return undefined
  }
}

/** Removes a record whose mount has ended; an ephemeral mount's temporary upper and state go too. */
export function dropRecord(rec: MountRecord, options: RegistryOptions = {}): void {
  rmSync(recordFile(registryDir(options), rec.mountpoint), { force: true })
  if (!rec.ephemeral) return
  for (const p of [rec.upper, rec.state]) {
    if (p && /(^|\/)scorpio-ephemeral-[^/]+(\/|$)/.test(p)) {
      const root = p.slice(0, p.indexOf('scorpio-ephemeral-')) + p.slice(p.indexOf('scorpio-ephemeral-')).split('/')[0]
      rmSync(root, { recursive: true, force: true })
    }
  }
}

/** True when the record's process is alive (same start time) and its mount is in mountinfo. */
export function recordIsLive(rec: MountRecord, mountinfo = readMountInfo()): boolean {
  if (!pidAlive(rec.pid)) return false
  if (rec.pidStart !== undefined) {
    const now = pidStartTime(rec.pid)
    if (now !== undefined && now !== rec.pidStart) return false
  }
  return fuseMountAt(rec.mountpoint, mountinfo) !== undefined
}

export interface ListOptions extends RegistryOptions {
  /** Also return dead records (for `umount` of a dead mount); default false. */
  includeStale?: boolean
  /** Remove dead records from disk; default true. */
  clean?: boolean
}

/** Live mounts sorted by mountpoint; stale records are removed unless `clean: false`. */
export function listMounts(options: ListOptions = {}): MountRecord[] {
  const dir = registryDir(options)
  let names: string[]
  try {
    names = readdirSync(dir).filter((n) => n.endsWith('.json'))
  } catch {
    return []
  }
  const mountinfo = readMountInfo()
  const out: MountRecord[] = []
  for (const name of names) {
    const file = join(dir, name)
    const rec = readRecord(file)
    if (!rec) continue
    const live = recordIsLive(rec, mountinfo)
    // A dead record whose stale mount is still attached stays for `umount` / the next mount to clean.
    if (!live && options.clean !== false && !pidAlive(rec.pid) && !fuseMountAt(rec.mountpoint, mountinfo)) dropRecord(rec, options)
    if (live || options.includeStale) out.push(rec)
  }
  return out.sort((a, b) => a.mountpoint.localeCompare(b.mountpoint))
}

/** The record for exactly this mountpoint (live only unless `includeStale`). */
export function findMount(mountpoint: string, options: ListOptions = {}): MountRecord | undefined {
  // The plain absolute path first: it needs no system call, so a hung mount cannot block us here.
  const dir = registryDir(options)
  const rec = readRecord(recordFile(dir, resolve(mountpoint))) ?? readRecord(recordFile(dir, canonicalPath(mountpoint)))
  if (!rec) return undefined
  if (options.includeStale || recordIsLive(rec)) return rec
  return undefined
}

/** The live mount containing `path` (the innermost one), so commands run inside a mount find its state. */
export function findWorkspaceForPath(path: string, options: RegistryOptions = {}): MountRecord | undefined {
  const mountinfo = readMountInfo()
  const target = canonicalPath(path, mountinfo)
  let best: { rec: MountRecord; mp: string } | undefined
  for (const rec of listMounts({ ...options, clean: false })) {
    // Both sides real: a record may name its mountpoint through a symlink (one written before the
    // mount registered its real path), the path may too.
    const mp = canonicalPath(rec.mountpoint, mountinfo)
    if (target === mp || target.startsWith(mp.endsWith(sep) ? mp : mp + sep)) {
      if (!best || mp.length > best.mp.length) best = { rec, mp }
    }
  }
  return best?.rec
}
