// Public surface of the remotes: `openRemote(url)` picks the backend.
import { UsageError } from '../errors.ts'
import { openLocalRemote } from './local.ts'
import type { Remote } from './types.ts'

export type { PushRequest, RawObject, Remote, RemoteRef } from './types.ts'
export { remoteKey } from './types.ts'
export { LocalRemote, openLocalRemote } from './local.ts'

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
    if (options.mega) {
      const { openMegaRemote } = await import('./mega.ts')
      return openMegaRemote(url, options)
    }
    const { openGitHttpRemote } = await import('./git_http.ts')
    return openGitHttpRemote(url, options)
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) && !url.startsWith('file://')) {
    throw new UsageError(`Unsupported remote URL scheme in "${url.split('://')[0]}://…": use https://, http://, file:// or a path`)
  }
  return openLocalRemote(url, options)
}
