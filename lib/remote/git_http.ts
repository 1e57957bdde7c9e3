// Placeholder until the backend lands.
import { RemoteError } from '../errors.ts'
import type { Remote } from './types.ts'

export async function openGitHttpRemote(url: string, _options: object = {}): Promise<Remote> {
  throw new RemoteError('unsupported', `The git_http backend is not ready yet (${url.split('?')[0]})`)
}
