// One workspace operation at a time: `<state>/lock` holds the pid; a dead holder's lock is taken over.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { WorkspaceError } from '../errors.ts'
import { pidAlive } from '../registry/mountinfo.ts'


export async function withLock<T>(stateDir: string, fn: () => Promise<T>): Promise<T> {
  const file = join(stateDir, 'lock')
  for (let attempt = 0; ; attempt++) {
    try {
      await fsp.writeFile(file, String(process.pid), { flag: 'wx' })
      break
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e
      const pid = Number(await fsp.readFile(file, 'utf8').catch(() => '0'))
      if (!pid || !pidAlive(pid) || pid === process.pid) {
        if (pid === process.pid) throw new WorkspaceError('busy', `Workspace "${stateDir}" is busy with another operation of this process`)
        await fsp.rm(file, { force: true })
        continue
      }
      if (attempt > 100) throw new WorkspaceError('busy', `Workspace "${stateDir}" is busy (process ${pid} holds ${file}); wait for it or stop it`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }
  try {
    return await fn()
  } finally {
    await fsp.rm(file, { force: true })
  }
}
