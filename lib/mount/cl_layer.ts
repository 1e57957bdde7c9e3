// `--cl LINK|DIR`: a local directory, or a Mega CL link read from the Mega remote's files-list.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from '../errors.ts'
import { applyLocalCl, applyMegaCl, type ClChange, type LowerView } from '../lower/mod.ts'
import type { ClFile, Remote } from '../remote/mod.ts'

/** A remote that can list a Mega CL's files (`/api/v1/cl/{link}/files-list`). */
interface ClRemote {
  fetchClFiles?(link: string): Promise<ClFile[]>
}

/** CL paths are repository paths: keep those under the mounted subdirectory, relative to it. */
export function clChangesUnder(files: ClFile[], mountedPath: string): ClChange[] {
  const prefix = mountedPath.split('/').filter(Boolean).join('/')
  const strip = (p: string): string | undefined => {
    const clean = p.split('/').filter(Boolean).join('/')
    if (!prefix) return clean
    if (clean === prefix) return undefined
    return clean.startsWith(prefix + '/') ? clean.slice(prefix.length + 1) : undefined
  }
  const out: ClChange[] = []
  for (const f of files) {
    const path = strip(f.path)
    const old = f.oldPath !== undefined ? strip(f.oldPath) : undefined
    if (f.action === 'renamed') {
      if (path === undefined && old !== undefined) out.push({ path: old, action: 'deleted' })
      else if (path !== undefined && old === undefined) out.push({ path, sha: f.oid, action: 'new' })
      else if (path !== undefined) out.push({ path, sha: f.oid, action: 'renamed', old_path: old })
      continue
    }
    if (path !== undefined) out.push({ path, sha: f.oid, action: f.action })
  }
  return out
}

export async function openClLayer(lower: LowerView, cl: string, remote: Remote): Promise<LowerView> {
  if (cl.includes('/') || cl.startsWith('.') || existsSync(cl)) return applyLocalCl(lower, resolve(cl))
  const clRemote = remote as Remote & ClRemote
  if (typeof clRemote.fetchClFiles !== 'function') {
    throw new UsageError(`--cl "${cl}" is not a directory, and CL links need a Mega remote (--mega)`)
  }
  return applyMegaCl(lower, clChangesUnder(await clRemote.fetchClFiles(cl), remote.path))
}
