// The job table and its state machine, independent of HTTP. Provisioning → Mounted → Ready →
// Unmounting → Unmounted, or Failed{reason}. Every change of the job set is written to the state
// file before anything is mounted, so a restart (even after kill -9) finds every job again.
import { randomUUID } from 'node:crypto'
import { constants as fsConstants, promises as fsp } from 'node:fs'
import { join, resolve } from 'node:path'
import { ScorpioError, UsageError } from '../errors.ts'
import { AntaresError, invalid, notFound } from './errors.ts'
import { detachMount } from './stale.ts'
import { claimStateDir, loadJobRecords, StateWriter, type JobRecord } from './state_file.ts'
import type {
  HealthResponse, JobHandle, JobMounter, LifecycleName, MountCreated, MountLifecycle, MountReadyResponse, MountStatus,
} from './types.ts'
import { validateCl, validateCreate } from './validate.ts'

interface Job {
  rec: JobRecord
  state: MountLifecycle
  lastSeen: number
  handle?: JobHandle
  /** The operation in flight (provisioning, unmounting, CL switch); others wait for it. */
  op?: Promise<void>
}

export interface AntaresServiceOptions {
  /** Server state dir: `antares.json`, `mounts/<id>`, `upper/<id>`. */
  stateDir: string
  /** One line per job event (default: stderr). */
  log?: (line: string) => void
  now?: () => number
}

export function lifecycleName(state: MountLifecycle): LifecycleName {
  return typeof state === 'string' ? state : 'Failed'
}

function reasonOf(err: unknown): string {
  return err instanceof Error ? err.message.split('\n')[0] : String(err)
}

export class AntaresService {
  readonly stateDir: string
  readonly #mounter: JobMounter
  readonly #jobs = new Map<string, Job>()
  readonly #byJobId = new Map<string, string>()
  readonly #writer: StateWriter
  readonly #log: (line: string) => void
  readonly #now: () => number
  readonly #started: number
  #release?: () => Promise<void>
  #shutdown?: Promise<void>

  constructor(mounter: JobMounter, options: AntaresServiceOptions) {
    this.stateDir = resolve(options.stateDir)
    this.#mounter = mounter
    this.#writer = new StateWriter(this.stateDir)
    this.#log = options.log ?? ((line) => process.stderr.write(`antares: ${line}\n`))
    this.#now = options.now ?? Date.now
    this.#started = this.#now()
  }

  get shuttingDown(): boolean {
    return this.#shutdown !== undefined
  }

  /** Claims the state dir and starts mounting every job of the state file again (not awaited: see `restored`). */
  async start(): Promise<{ restored: Promise<void> }> {
    this.#release = await claimStateDir(this.stateDir)
    const records = await loadJobRecords(this.stateDir)
    const ops: Promise<void>[] = []
    for (const rec of records) {
      const job = this.#insert(rec)
      this.#log(`restoring mount ${rec.mount_id}${rec.job_id ? ` (job ${rec.job_id})` : ''}`)
      ops.push(this.#provision(job).catch(() => {}))
    }
    return { restored: Promise.all(ops).then(() => {}) }
  }

  health(): HealthResponse & Record<string, unknown> {
    const jobs = [...this.#jobs.values()]
    const failed = jobs.some((j) => lifecycleName(j.state) === 'Failed')
    return {
      status: failed || this.shuttingDown ? 'degraded' : 'healthy',
      mount_count: jobs.length,
      uptime_secs: Math.floor((this.#now() - this.#started) / 1000),
      ...(this.#mounter.describe?.() ?? {}),
    }
  }

  /** `GET /stats`: the process (RSS) and its jobs' shared store. */
  stats(): Record<string, unknown> {
    return { mount_count: this.#jobs.size, rss_bytes: process.memoryUsage.rss(), ...(this.#mounter.stats?.() ?? {}) }
  }

  list(): MountStatus[] {
    return [...this.#jobs.values()]
      .sort((a, b) => a.rec.created_at_epoch_ms - b.rec.created_at_epoch_ms || a.rec.mount_id.localeCompare(b.rec.mount_id))
      .map((j) => this.#status(j))
  }

  describe(mountId: string): MountStatus {
    return this.#status(this.#get(mountId))
  }

  describeByJob(jobId: string): MountStatus {
    return this.#status(this.#getByJob(jobId))
  }

  ready(mountId: string): MountReadyResponse {
    const job = this.#get(mountId)
    return { mount_id: job.rec.mount_id, ready: job.state === 'Ready', state: job.state }
  }

  async create(body: unknown): Promise<MountCreated> {
    this.#refuseWhenStopping()
    const req = validateCreate(body)
    for (;;) {
      const existingId = req.jobId === null ? undefined : this.#byJobId.get(req.jobId)
      const existing = existingId ? this.#jobs.get(existingId) : undefined
      if (!existing) break
      const r = existing.rec
      const differs = r.path !== req.path || r.cl !== req.cl || (req.upper !== null && req.upper !== r.upper)
      if (differs) {
        throw invalid(`job_id "${req.jobId}" is already mounted with path "${r.path}"${r.cl ? `, cl "${r.cl}"` : ''}${r.upper_owned ? '' : `, upper "${r.upper}"`}; use another job_id or delete the mount first`)
      }
      if (existing.op) {
        await existing.op.catch(() => {})
        if (this.#jobs.get(r.mount_id) !== existing) continue
      }
      if (lifecycleName(existing.state) === 'Failed') {
        this.#log(`retrying failed mount ${r.mount_id} (job ${req.jobId})`)
        await this.#provision(existing)
      }
      return { mount_id: r.mount_id, mountpoint: r.mountpoint }
    }
    if (req.upper !== null) this.#refuseSharedUpper(req.upper)
    if (req.profile !== null) {
      const readable = await fsp.access(req.profile, fsConstants.R_OK).then(() => true, () => false)
      if (!readable) throw invalid(`profile "${req.profile}" cannot be read; give a file written by scorpio prefetch --record`)
    }
    const mountId = randomUUID()
    const rec: JobRecord = {
      mount_id: mountId,
      job_id: req.jobId,
      path: req.path,
      cl: req.cl,
      mountpoint: join(this.stateDir, 'mounts', mountId),
      upper: req.upper ?? join(this.stateDir, 'upper', mountId),
      upper_owned: req.upper === null,
      ...(req.profile !== null ? { profile: req.profile } : {}),
      created_at_epoch_ms: this.#now(),
    }
    const job = this.#insert(rec)
    this.#log(`mounting ${mountId}${rec.job_id ? ` (job ${rec.job_id})` : ''} path ${rec.path}${rec.cl ? ` cl ${rec.cl}` : ''}`)
    // The record reaches the state file before anything is mounted; a concurrent request for the
    // same job_id finds the job (and its operation in flight) from this line on.
    await this.#provision(job, async () => {
      try {
        await this.#save()
      } catch (err) {
        this.#remove(job)
        throw new AntaresError('INTERNAL_ERROR', `Could not write the state file: ${reasonOf(err)}`)
      }
    })
    return { mount_id: mountId, mountpoint: rec.mountpoint }
  }

  async delete(mountId: string): Promise<MountStatus> {
    this.#refuseWhenStopping()
    return this.#delete(this.#get(mountId))
  }

  async deleteByJob(jobId: string): Promise<MountStatus> {
    this.#refuseWhenStopping()
    return this.#delete(this.#getByJob(jobId))
  }

  /** Builds (or rebuilds) the CL layer of a mount. */
  async setCl(mountId: string, body: unknown): Promise<MountStatus> {
    this.#refuseWhenStopping()
    const b = body as { cl?: unknown } | null
    if (!b || typeof b !== 'object' || Array.isArray(b)) throw new AntaresError('BAD_PAYLOAD', 'request body must be a JSON object like {"cl": "CL123"}')
    return this.#switchCl(this.#get(mountId), validateCl(b.cl))
  }

  async clearCl(mountId: string): Promise<MountStatus> {
    this.#refuseWhenStopping()
    return this.#switchCl(this.#get(mountId), null)
  }

  /** Unmounts every job (their records stay in the state file, so the next start brings them back). */
  shutdown(): Promise<void> {
    this.#shutdown ??= (async () => {
      this.#log(`shutting down: unmounting ${this.#jobs.size} mount(s)`)
      await Promise.all([...this.#jobs.values()].map(async (job) => {
        await job.op?.catch(() => {})
        if (!job.handle) return
        job.state = 'Unmounting'
        try {
          await job.handle.unmount()
          job.state = 'Unmounted'
        } catch (err) {
          job.state = { Failed: { reason: `unmount failed: ${reasonOf(err)}` } }
          this.#log(`mount ${job.rec.mount_id}: unmount failed: ${reasonOf(err)}`)
          await detachMount(job.rec.mountpoint).catch(() => false)
        }
        job.handle = undefined
      }))
      await this.#save().catch((err) => this.#log(`could not write the state file: ${reasonOf(err)}`))
      await this.#mounter.close?.().catch((err) => this.#log(`closing the shared lower layer failed: ${reasonOf(err)}`))
      await this.#release?.()
    })()
    return this.#shutdown
  }

  // ----- internals -----

  #refuseWhenStopping(): void {
    if (this.shuttingDown) throw new AntaresError('SHUTDOWN', 'the antares server is shutting down; retry against its next start')
  }

  #refuseSharedUpper(upper: string): void {
    for (const j of this.#jobs.values()) {
      if (j.rec.upper === upper) throw invalid(`upper "${upper}" is already used by mount ${j.rec.mount_id}; every job needs its own upper dir`)
    }
    if (upper === this.stateDir || upper.startsWith(join(this.stateDir, 'mounts') + '/')) {
      throw invalid(`upper "${upper}" lies inside the server's state or mount dirs; choose a directory elsewhere`)
    }
  }

  #insert(rec: JobRecord): Job {
    const job: Job = { rec, state: 'Provisioning', lastSeen: this.#now() }
    this.#jobs.set(rec.mount_id, job)
    if (rec.job_id !== null) this.#byJobId.set(rec.job_id, rec.mount_id)
    return job
  }

  #remove(job: Job): void {
    this.#jobs.delete(job.rec.mount_id)
    if (job.rec.job_id !== null && this.#byJobId.get(job.rec.job_id) === job.rec.mount_id) this.#byJobId.delete(job.rec.job_id)
  }

  #get(mountId: string): Job {
    const job = this.#jobs.get(mountId)
    if (!job) throw notFound(`mount ${mountId} not found`)
    return job
  }

  #getByJob(jobId: string): Job {
    const id = this.#byJobId.get(jobId)
    const job = id ? this.#jobs.get(id) : undefined
    if (!job) throw notFound(`mount for task ${jobId} not found`)
    return job
  }

  #set(job: Job, state: MountLifecycle): void {
    job.state = state
    job.lastSeen = this.#now()
  }

  #status(job: Job): MountStatus {
    const r = job.rec
    return {
      mount_id: r.mount_id,
      job_id: r.job_id,
      path: r.path,
      cl: r.cl,
      mountpoint: r.mountpoint,
      layers: { upper: r.upper, cl: r.cl, dicfuse: 'shared' },
      state: job.state,
      created_at_epoch_ms: r.created_at_epoch_ms,
      last_seen_epoch_ms: job.lastSeen,
    }
  }

  #jobStateDir(rec: JobRecord): string {
    return join(this.stateDir, 'jobs', rec.mount_id)
  }

  #save(): Promise<void> {
    return this.#writer.save([...this.#jobs.values()].map((j) => j.rec))
  }

  /** Runs `fn` as the job's one operation in flight. */
  #exclusive(job: Job, fn: () => Promise<void>): Promise<void> {
    const op = (async () => {
      await job.op?.catch(() => {})
      await fn()
    })()
    job.op = op
    const clear = () => { if (job.op === op) job.op = undefined }
    op.then(clear, clear)
    return op
  }

  #provision(job: Job, before?: () => Promise<void>): Promise<void> {
    return this.#exclusive(job, async () => {
      await before?.()
      if (job.handle) return // mounted meanwhile by a concurrent retry
      const r = job.rec
      this.#set(job, 'Provisioning')
      try {
        await fsp.mkdir(r.upper, { recursive: true })
        if (!(await detachMount(r.mountpoint))) throw new Error(`a stale mount at "${r.mountpoint}" could not be detached`)
        await fsp.mkdir(r.mountpoint, { recursive: true })
        const jobState = this.#jobStateDir(r)
        await fsp.mkdir(jobState, { recursive: true, mode: 0o700 })
        const handle = await this.#mounter.mount({
          mountId: r.mount_id, path: r.path, mountpoint: r.mountpoint, upperDir: r.upper, stateDir: jobState, ...(r.cl ? { cl: r.cl } : {}), ...(r.profile ? { profile: r.profile } : {}),
        })
        job.handle = handle
        this.#set(job, 'Mounted')
        this.#log(`mounted ${r.mount_id} at ${r.mountpoint}`)
        if (!handle.ready) this.#set(job, 'Ready')
        else {
          handle.ready.then(
            () => { if (job.handle === handle && job.state === 'Mounted') this.#set(job, 'Ready') },
            (err) => { if (job.handle === handle && job.state === 'Mounted') this.#set(job, { Failed: { reason: `warm-up failed: ${reasonOf(err)}` } }) },
          )
        }
      } catch (err) {
        this.#set(job, { Failed: { reason: reasonOf(err) } })
        this.#log(`mount ${r.mount_id} failed: ${reasonOf(err)}`)
        if (err instanceof UsageError) throw invalid(err.message)
        if (err instanceof AntaresError) throw err
        throw new AntaresError('FUSE_ERROR', `mount ${r.mount_id} failed: ${reasonOf(err)}`, { cause: err })
      }
    })
  }

  async #delete(job: Job): Promise<MountStatus> {
    if (job.state === 'Unmounting' && job.op) {
      await job.op.catch(() => {})
      if (!this.#jobs.has(job.rec.mount_id)) return this.#status(job)
    }
    await this.#exclusive(job, async () => {
      if (!this.#jobs.has(job.rec.mount_id)) return
      this.#set(job, 'Unmounting')
      try {
        await job.handle?.unmount()
        job.handle = undefined
        if (!(await detachMount(job.rec.mountpoint))) throw new Error('the mount is still attached')
      } catch (err) {
        this.#set(job, { Failed: { reason: `unmount failed: ${reasonOf(err)}` } })
        throw new AntaresError('FUSE_ERROR', `unmount of ${job.rec.mount_id} failed: ${reasonOf(err)}`, { cause: err })
      }
      this.#set(job, 'Unmounted')
      this.#remove(job)
      await this.#save().catch((err) => this.#log(`could not write the state file: ${reasonOf(err)}`))
      await fsp.rmdir(job.rec.mountpoint).catch(() => {})
      await fsp.rm(this.#jobStateDir(job.rec), { recursive: true, force: true }).catch(() => {})
      if (job.rec.upper_owned) await fsp.rm(job.rec.upper, { recursive: true, force: true }).catch(() => {})
      this.#log(`unmounted ${job.rec.mount_id}${job.rec.job_id ? ` (job ${job.rec.job_id})` : ''}`)
    })
    return this.#status(job)
  }

  async #switchCl(job: Job, cl: string | null): Promise<MountStatus> {
    if (job.op) await job.op.catch(() => {})
    const name = lifecycleName(job.state)
    if (name !== 'Mounted' && name !== 'Ready') {
      throw invalid(`mount ${job.rec.mount_id} is ${name}; the CL layer can change only on a mounted job`)
    }
    if (job.rec.cl === cl) return this.#status(job)
    const handle = job.handle
    if (handle?.setCl) {
      await this.#exclusive(job, async () => {
        try {
          await handle.setCl!(cl ?? undefined)
        } catch (err) {
          if (err instanceof ScorpioError && err instanceof UsageError) throw invalid(err.message)
          throw new AntaresError('FUSE_ERROR', `CL switch of ${job.rec.mount_id} failed: ${reasonOf(err)}`, { cause: err })
        }
        job.rec.cl = cl
        job.lastSeen = this.#now()
        await this.#save()
      })
      return this.#status(job)
    }
    // No in-place switch: remount with the same upper and the new CL layer.
    await this.#exclusive(job, async () => {
      this.#set(job, 'Unmounting')
      await job.handle?.unmount()
      job.handle = undefined
      job.rec.cl = cl
      await this.#save()
    })
    await this.#provision(job)
    return this.#status(job)
  }
}
