// The server's state file `<state>/antares.json`: the jobs it should be serving. Written atomically
// (temp + fsync + rename) after every change, one write at a time; read once at start to bring the
// jobs back. A pid file keeps two servers off the same state dir.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { writeFileAtomic } from '../workspace/state.ts'
import { WorkspaceError } from '../errors.ts'
import { createLock, holderGone, holderText, removeLockIf } from '../registry/holder.ts'

export const ANTARES_STATE_FILE = 'antares.json'
export const ANTARES_PID_FILE = 'antares.pid'
const VERSION = 1

/** One job as persisted: enough to mount it again after a restart. */
export interface JobRecord {
  mount_id: string
  job_id: string | null
  path: string
  cl: string | null
  mountpoint: string
  upper: string
  /** True when the server made the upper dir (and removes it on delete). */
  upper_owned: boolean
  /** A prefetch profile started at each mount of the job. */
  profile?: string | null
  created_at_epoch_ms: number
}

interface StateDoc {
  version: number
  mounts: JobRecord[]
}

function isRecord(r: unknown): r is JobRecord {
  const x = r as JobRecord
  return Boolean(x) && typeof x.mount_id === 'string' && typeof x.path === 'string' &&
    typeof x.mountpoint === 'string' && typeof x.upper === 'string'
}

export async function loadJobRecords(stateDir: string): Promise<JobRecord[]> {
  const file = join(stateDir, ANTARES_STATE_FILE)
  let text: string
  try {
    text = await fsp.readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return []
    throw e
  }
  let doc: StateDoc
  try {
    doc = JSON.parse(text)
  } catch {
    throw new WorkspaceError('antares-state-invalid', `Antares state file "${file}" is not valid JSON; move it away to start without the old jobs`)
  }
  if (!doc || typeof doc.version !== 'number' || doc.version > VERSION || !Array.isArray(doc.mounts)) {
    throw new WorkspaceError('antares-state-invalid', `Antares state file "${file}" has an unsupported format; move it away to start without the old jobs`)
  }
  return doc.mounts.filter(isRecord).map((r) => ({
    ...r,
    job_id: r.job_id ?? null,
    cl: r.cl ?? null,
    upper_owned: Boolean(r.upper_owned),
    created_at_epoch_ms: Number(r.created_at_epoch_ms) || Date.now(),
  }))
}

/** Serialises saves: each save writes the newest snapshot, never two writers at once. */
export class StateWriter {
  #chain: Promise<void> = Promise.resolve()
  constructor(readonly stateDir: string) {}

  save(records: JobRecord[]): Promise<void> {
    const doc: StateDoc = { version: VERSION, mounts: records }
    const text = JSON.stringify(doc, null, 2) + '\n'
    const next = this.#chain.then(() => writeFileAtomic(join(this.stateDir, ANTARES_STATE_FILE), text))
    this.#chain = next.catch(() => {})
    return next
  }
}


/** Claims `<state>/antares.pid` (holder.ts); refuses when another live server holds it. Returns the release function. */
export async function claimStateDir(stateDir: string): Promise<() => Promise<void>> {
  await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 })
  const file = join(stateDir, ANTARES_PID_FILE)
  const me = holderText()
  for (let attempt = 0; attempt < 3; attempt++) {
    if (await createLock(file, me)) return () => removeLockIf(file, me)
    const text = await fsp.readFile(file, 'utf8').catch(() => null)
    const st = await fsp.stat(file).catch(() => null)
    if (text === null || !st) continue // just released
    if (!holderGone(text.trim())) {
      const pid = text.split(' ')[0].trim()
      throw new WorkspaceError('antares-busy', `Another antares server (pid ${pid}) uses state dir "${stateDir}"; stop it or pass a different --state`)
    }
    await removeLockIf(file, text)
  }
  throw new WorkspaceError('antares-busy', `Could not claim "${file}"; remove it if no antares server is running`)
}
