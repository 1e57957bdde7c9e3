// The CL layer: a change list (Mega's files-list, or a local directory) applied over a lower view.
// Read priority is upper > CL > lower; a `renamed` change is a deletion of old_path plus an addition.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { UsageError } from '../errors.ts'
import { isWhiteoutStat, whiteoutTarget, isInternalName } from '../overlay/upper_format.ts'
import type { Oid } from '../store/types.ts'
import { splitPath, walkPath, type LowerEntry, type LowerView } from './types.ts'

/** One entry of Mega's `/api/v1/cl/{link}/files-list` (`sha` may carry a `sha1:` prefix). */
export interface ClChange {
  path: string
  sha?: string
  action: 'new' | 'modified' | 'deleted' | 'renamed'
  old_path?: string
  /** Git mode when known (a local CL knows it; Mega's list does not). */
  mode?: string
}

type Put = { put: LowerEntry }
type Change = Put | { del: true }

/** A directory the CL touches: the base directory beneath (if any) plus the changes inside it. */
interface ClDir {
  path: string
  base?: LowerEntry
}

function normalizeSha(sha: string | undefined, path: string): Oid {
  const s = (sha ?? '').replace(/^sha1:/, '').toLowerCase()
  if (!/^[0-9a-f]{40}$/.test(s)) throw new UsageError(`CL entry "${path}" has no valid sha ("${sha ?? ''}")`)
  return s
}

function cleanPath(p: string): string {
  const parts = splitPath(p)
  if (parts.some((x) => x === '..')) throw new UsageError(`CL path "${p}" leaves the repository`)
  return parts.join('/')
}

export class ClLowerView implements LowerView {
  readonly root: LowerEntry
  private readonly changes = new Map<string, Change>()
  private readonly dirs = new Set<string>()

  constructor(
    readonly base: LowerView,
    changes: Map<string, Change>,
    extraDirs: string[] = [],
  ) {
    this.changes = changes
    for (const d of extraDirs) {
      const parts = splitPath(d)
      for (let i = 0; i <= parts.length; i++) this.dirs.add(parts.slice(0, i).join('/'))
    }
    for (const p of changes.keys()) {
      const parts = splitPath(p)
      for (let i = 0; i < parts.length; i++) this.dirs.add(parts.slice(0, i).join('/'))
    }
    this.root = this.wrapDir('', base.root)
  }

  get commit(): Oid {
    return this.base.commit
  }
  get mtimeMs(): number {
    return this.base.mtimeMs
  }

  private wrapDir(path: string, base: LowerEntry | undefined): LowerEntry {
    if (!this.dirs.has(path)) return base!
    const ref: ClDir = { path, base: base && base.kind === 'dir' ? base : undefined }
    return { kind: 'dir', perm: 0o755, ref }
  }

  async list(dir: LowerEntry): Promise<Map<string, LowerEntry>> {
    const cl = dir.ref as ClDir | undefined
    if (!cl || typeof cl !== 'object' || !('path' in cl)) return this.base.list(dir)
    const out = new Map(cl.base ? await this.base.list(cl.base) : [])
    const prefix = cl.path === '' ? '' : cl.path + '/'
    for (const [p, c] of this.changes) {
      if (!p.startsWith(prefix)) continue
      const rest = p.slice(prefix.length)
      if (rest.includes('/') || rest === '') continue
      if ('del' in c) out.delete(rest)
      else out.set(rest, c.put)
    }
    for (const d of this.dirs) {
      if (!d.startsWith(prefix) || d === cl.path) continue
      const rest = d.slice(prefix.length)
      if (rest.includes('/') || rest === '') continue
      const under = out.get(rest)
      out.set(rest, this.wrapDir(d, under))
    }
    return out
  }

  listCached(dir: LowerEntry): Map<string, LowerEntry> | undefined {
    const cl = dir.ref as ClDir | undefined
    if (!cl || typeof cl !== 'object' || !('path' in cl)) return this.base.listCached?.(dir)
    return undefined
  }

  knownSize(entry: LowerEntry): number | undefined {
    return entry.local ? undefined : this.base.knownSize?.(entry)
  }

  lookupPath(path: string): Promise<LowerEntry | undefined> {
    return walkPath(this, path)
  }

  async size(entry: LowerEntry): Promise<number> {
    if (entry.local) return (await fsp.lstat(entry.local)).size
    return this.base.size(entry)
  }

  async read(entry: LowerEntry, reader?: object): Promise<Uint8Array> {
    if (!entry.local) return this.base.read(entry, reader)
    if (entry.kind === 'symlink') return new TextEncoder().encode(await fsp.readlink(entry.local))
    return new Uint8Array(await fsp.readFile(entry.local))
  }

  isLocal(entry: LowerEntry): Promise<boolean> {
    return entry.local ? Promise.resolve(true) : this.base.isLocal(entry)
  }

  fromGit(mode: string, oid: Oid): LowerEntry {
    return this.base.fromGit(mode, oid)
  }
}

/** Applies a Mega CL's file list over `base`. Modified files keep the lower file's mode. */
export async function applyMegaCl(base: LowerView, list: ClChange[]): Promise<ClLowerView> {
  const changes = new Map<string, Change>()
  for (const c of list) {
    const path = cleanPath(c.path)
    if (c.action === 'deleted') {
      changes.set(path, { del: true })
      continue
    }
    if (c.action === 'renamed') {
      if (!c.old_path) throw new UsageError(`CL entry "${c.path}" is renamed but has no old_path`)
      const old = cleanPath(c.old_path)
      if (!changes.has(old)) changes.set(old, { del: true })
    }
    const oid = normalizeSha(c.sha, c.path)
    let mode = c.mode
    if (!mode) {
      const prev = await base.lookupPath(c.action === 'renamed' ? cleanPath(c.old_path!) : path)
      mode = prev && (prev.kind === 'file' || prev.kind === 'symlink') ? prev.mode : '100644'
    }
    changes.set(path, { put: base.fromGit(mode ?? '100644', oid) })
  }
  return new ClLowerView(base, changes)
}

/**
 * Applies a local directory over `base` as a CL layer: its files replace lower files, its
 * directories merge with lower ones, whiteouts (`.wh.NAME` or 0/0 char devices) delete.
 */
export async function applyLocalCl(base: LowerView, dir: string): Promise<ClLowerView> {
  const changes = new Map<string, Change>()
  let st
  try {
    st = await fsp.stat(dir)
  } catch {
    throw new UsageError(`CL directory "${dir}" does not exist`)
  }
  if (!st.isDirectory()) throw new UsageError(`CL path "${dir}" is not a directory`)
  const walk = async (rel: string): Promise<void> => {
    const names = await fsp.readdir(join(dir, rel))
    for (const name of names) {
      const p = rel === '' ? name : `${rel}/${name}`
      const wt = whiteoutTarget(name)
      if (wt !== undefined) {
        changes.set(rel === '' ? wt : `${rel}/${wt}`, { del: true })
        continue
      }
      if (isInternalName(name) || (rel === '' && name === '.git')) continue
      const full = join(dir, p)
      const s = await fsp.lstat(full)
      if (isWhiteoutStat(s)) changes.set(p, { del: true })
      else if (s.isDirectory()) {
        changes.set(p, { put: { kind: 'dir', perm: 0o755 } })
        await walk(p)
      } else if (s.isSymbolicLink()) changes.set(p, { put: { kind: 'symlink', perm: 0o777, local: full, mode: '120000' } })
      else if (s.isFile()) {
        const exec = (s.mode & 0o111) !== 0
        changes.set(p, { put: { kind: 'file', perm: exec ? 0o755 : 0o644, local: full, mode: exec ? '100755' : '100644' } })
      }
    }
  }
  await walk('')
  // A directory entry in `changes` must not hide what lies beneath it: keep only the marker in `dirs`.
  const dirs: string[] = []
  for (const [p, c] of [...changes]) {
    if ('put' in c && c.put.kind === 'dir') {
      changes.delete(p)
      dirs.push(p)
    }
  }
  return new ClLowerView(base, changes, dirs)
}
