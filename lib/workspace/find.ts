// Which workspace a command is about: `-C DIR` (a mountpoint or a state dir), else the mount that
// contains the current directory (registry, then /proc/self/mountinfo), else an unmounted
// workspace whose mountpoint is the current directory or one of its parents.
import { existsSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'
import { UsageError } from '../errors.ts'
import { canonicalPath, findMount, findWorkspaceForPath, readMountInfo } from '../registry/mod.ts'
import { defaultStateDir, STATE_FILE } from './state.ts'

export interface FoundWorkspace {
  stateDir: string
  /** The mountpoint, when known. */
  mountpoint?: string
}

function hasState(dir: string): boolean {
  return existsSync(join(dir, STATE_FILE))
}

function inside(path: string, dir: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep)
}

function fromMountpoint(mp: string): FoundWorkspace | undefined {
  const rec = findMount(mp, { includeStale: true })
  if (rec?.state && hasState(rec.state)) return { stateDir: rec.state, mountpoint: rec.mountpoint }
  const d = defaultStateDir(mp)
  if (hasState(d)) return { stateDir: d, mountpoint: mp }
  return undefined
}

export function findWorkspace(cwd: string = process.cwd(), explicitDir?: string): FoundWorkspace {
  if (explicitDir) {
    const dir = resolve(cwd, explicitDir)
    // The registry (by the real path: the mount was made through either) before the state file,
    // whose lookup in a mountpoint would ask the mount, hung or not.
    const realDir = canonicalPath(dir)
    const found = fromMountpoint(realDir) ?? (realDir !== dir ? fromMountpoint(dir) : undefined)
    if (found) return found
    if (hasState(dir)) return { stateDir: dir }
    throw new UsageError(`"${explicitDir}" is neither a scorpio mountpoint nor a workspace state dir`)
  }
  const here = resolve(cwd)
  const rec = findWorkspaceForPath(here)
  if (rec?.state && hasState(rec.state)) return { stateDir: rec.state, mountpoint: rec.mountpoint }
  let best: string | undefined
  for (const m of readMountInfo()) {
    if (m.fstype === 'fuse.scorpio' && inside(here, m.mountpoint) && (!best || m.mountpoint.length > best.length)) best = m.mountpoint
  }
  if (best) {
    const found = fromMountpoint(best)
    if (found) return found
  }
  for (let d = here; ; d = dirname(d)) {
    const found = fromMountpoint(d)
    if (found) return found
    if (dirname(d) === d) break
  }
  throw new UsageError('Not inside a scorpio workspace: run this inside a mounted workspace or pass -C MOUNTPOINT')
}

/** Turns user paths (relative to `cwd`) into workspace-relative ones when cwd lies inside the mount. */
export function workspacePaths(paths: string[], cwd: string, mountpoint?: string): string[] {
  if (!mountpoint) return paths
  const mp = resolve(mountpoint)
  const here = resolve(cwd)
  if (!inside(here, mp)) return paths
  return paths.map((p) => {
    const rel = relative(mp, resolve(here, p))
    if (rel.startsWith('..')) throw new UsageError(`Path "${p}" lies outside the workspace at "${mp}"`)
    return rel.split(sep).join('/')
  })
}
