// Public surface of the remotes: `openRemote(url)` picks the backend.
import { UsageError } from '../errors.ts'
import { openGitHttpRemote } from './git_http.ts'
import { openLocalRemote } from './local.ts'
import { openMegaRemote } from './mega.ts'
import type { Remote } from './types.ts'

export type { PushRequest, RawObject, Remote, RemoteRef } from './types.ts'
export { remoteKey } from './types.ts'
export { LocalRemote, openLocalRemote } from './local.ts'
export { GitHttpRemote, openGitHttpRemote } from './git_http.ts'
export { MegaRemote, fetchClFiles, megaPath, openMegaRemote, type ClFile, type MegaDirEntry, type MegaLatestCommit, type MegaOptions } from './mega.ts'

export interface OpenRemoteOptions {
  /** Treat an http(s) URL as a Mega server (REST API + its git endpoint). */
  mega?: boolean
  /** Mount only this subdirectory of the repository. */
  path?: string
  token?: string
  timeoutMs?: number
  fetch?: typeof fetch
}

export async function openRemote(url: string, options: OpenRemoteOptions = {}): Promise<Remote> {
  if (!url) throw new UsageError('No remote given: pass a URL (https://host/repo.git) or a bare repository path')
  if (/^https?:\/\//i.test(url)) {
    return options.mega ? openMegaRemote(url, options) : openGitHttpRemote(url, options)
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new UsageError(`Unsupported remote URL scheme in "${url.split('://')[0]}://…": use https://, http://, file:// or a path`)
  }
  return openLocalRemote(url, options)
}
