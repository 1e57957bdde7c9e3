// One workspace operation at a time: `<state>/lock` names the holder (holder.ts); a dead holder's
// lock is taken over.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { WorkspaceError } from '../errors.ts'
import { createLock, holderGone, holderText, removeLockIf } from '../registry/holder.ts'

export async function withLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  const file = join(stateDir, 'lock')
  const me = holderText()
  for (let attempt = 0; ; attempt++) {
    if (await createLock(file, me)) break
    const text = await fsp.readFile(file, 'utf8').catch(() => null)
    if (text === null) continue // just released
    const st = await fsp.stat(file).catch(() => null)
    if (!st) continue
    const pid = Number(text.split(' ')[0])
    if (pid === process.pid) throw new WorkspaceError('busy', `Workspace "${stateDir}" is busy with another operation of this process`)
    // Only a dead holder ends the lock: an operation may run for long (a big commit or push).
    if (holderGone(text)) {
      await removeLockIf(file, text)
      continue
    }
    if (attempt > 100) throw new WorkspaceError('busy', `Workspace "${stateDir}" is busy (process ${pid} holds ${file}); wait for it or stop it`)
    await new Promise((r) => setTimeout(r, 50))
  }
  try {
    return await fn()
  } finally {
    await removeLockIf(file, me)
  }
}
