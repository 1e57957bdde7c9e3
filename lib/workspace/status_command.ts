// `scorpio status` with as little loaded as possible (process start is most of its cost): the live
// mount answers over the control socket; else, when the upper layer and the base are as the last
// status saw them, the answer kept in status-cache.json; only then the whole workspace machinery.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { callControl, NoControlServer } from './control.ts'
import { findWorkspace } from './find.ts'
import { JOURNAL_FILE } from './journal.ts'
import { withLock } from './lock.ts'
import { loadWorkspaceState } from './state.ts'
import { readStatusCache, statusKey, type CachedStatus } from './status_cache.ts'

export async function statusCommand(target: { dir?: string; cwd?: string }): Promise<CachedStatus> {
  const found = findWorkspace(target.cwd ?? process.cwd(), target.dir)
  try {
    return (await callControl(found.stateDir, { op: 'status' })) as CachedStatus
  } catch (e) {
    if (!(e instanceof NoControlServer)) throw e
  }
  // An interrupted commit/checkout must be recovered first: that is openWorkspace's job.
  if (!existsSync(join(found.stateDir, JOURNAL_FILE))) {
    const hit = await withLock(found.stateDir, async () => {
      const state = await loadWorkspaceState(found.stateDir)
      return readStatusCache(found.stateDir, statusKey(state))
    })
    if (hit) return hit
  }
  const { openWorkspace } = await import('./workspace.ts')
  const ws = await openWorkspace(found.stateDir)
  try {
    return await ws.status()
  } finally {
    await ws.close()
  }
}
