// `--cl LINK|DIR`: a local directory, or a Mega CL link read from the Mega remote's files-list.
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { UsageError } from '../errors.ts'
import { applyLocalCl, applyMegaCl, type ClChange, type LowerView } from '../lower/mod.ts'
import type { Remote } from '../remote/mod.ts'

/** A remote that can list a Mega CL's files (`/api/v1/cl/{link}/files-list`). */
interface ClRemote {
  clFiles?(link: string): Promise<ClChange[]>
}

export async function openClLayer(lower: LowerView, cl: string, remote: Remote): Promise<LowerView> {
  if (cl.includes('/') || cl.startsWith('.') || existsSync(cl)) return applyLocalCl(lower, resolve(cl))
  const clRemote = remote as Remote & ClRemote
  if (typeof clRemote.clFiles !== 'function') {
    throw new UsageError(`--cl "${cl}" is not a directory, and CL links need a Mega remote (--mega)`)
  }
  return applyMegaCl(lower, await clRemote.clFiles(cl))
}
