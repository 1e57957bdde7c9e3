// The Antares wire shapes (field names as Mega's Antares daemon spells them) and the one seam the
// service needs from the mount machinery: `JobMounter`.

/** A mount's lifecycle. `Failed` carries its reason, as Mega's daemon reports it. */
export type MountLifecycle =
  | 'Provisioning'
  | 'Mounted'
  | 'Ready'
  | 'Unmounting'
  | 'Unmounted'
  | { Failed: { reason: string } }

export type LifecycleName = 'Provisioning' | 'Mounted' | 'Ready' | 'Unmounting' | 'Unmounted' | 'Failed'

export interface CreateMountRequest {
  /** CI job identifier: creating a mount for the same job twice returns the same mount. */
  job_id?: string
  /** Mega's alternative name for job_id (job_id wins when both are given). */
  build_id?: string
  /** Directory of the monorepo the job sees, `/` for the whole tree. */
  path: string
  /** CL layer: a Mega CL link or an absolute local directory. */
  cl?: string
  /** Absolute directory for the job's upper layer (default: a fresh one under the server's state dir, removed on delete). */
  upper?: string
  /** Absolute path of a prefetch profile (`scorpio prefetch --record`, paths relative to `path`):
   *  its files are fetched in the background from mount time on. */
  profile?: string
}

export interface MountCreated {
  mount_id: string
  mountpoint: string
}

export interface MountLayers {
  upper: string
  cl: string | null
  /** Always `shared`: every job reads the same in-memory lower layer. */
  dicfuse: string
}

export interface MountStatus {
  mount_id: string
  job_id: string | null
  path: string
  cl: string | null
  mountpoint: string
  layers: MountLayers
  state: MountLifecycle
  created_at_epoch_ms: number
  last_seen_epoch_ms: number
}

export interface MountReadyResponse {
  mount_id: string
  ready: boolean
  state: MountLifecycle
}

export interface HealthResponse {
  status: 'healthy' | 'degraded'
  mount_count: number
  uptime_secs: number
}

export type ErrorCode =
  | 'INVALID_REQUEST'
  | 'BAD_PAYLOAD'
  | 'NOT_FOUND'
  | 'METHOD_NOT_ALLOWED'
  | 'UNAUTHORIZED'
  | 'FUSE_ERROR'
  | 'INTERNAL_ERROR'
  | 'SHUTDOWN'

export interface ErrorBody {
  error: string
  code: ErrorCode
}

/** What the service asks the mounter to build for one job. */
export interface JobSpec {
  mountId: string
  /** Monorepo directory the job sees (`/` = root), normalised: leading `/`, no trailing `/`. */
  path: string
  /** Absolute, existing, empty directory. */
  mountpoint: string
  /** Absolute upper directory (created by the service). */
  upperDir: string
  /** Absolute directory for the job's own small state (created by the service, removed on delete). */
  stateDir: string
  cl?: string
  /** A prefetch profile file to start fetching at mount time. */
  profile?: string
}

/** A live job mount. */
export interface JobHandle {
  /** Resolves once the mount is warm enough for heavy work (state Ready). Optional: absent = ready at once. */
  ready?: Promise<void>
  /** Replaces (or with `undefined` removes) the CL layer in place. Optional: absent = the service remounts. */
  setCl?(cl: string | undefined): Promise<void>
  /** Unmounts and releases everything of this job except its upper dir. Must be idempotent. */
  unmount(): Promise<void>
}

/** Builds job mounts. The real one shares one lower layer between all jobs (lib/antares/fuse_mounter.ts). */
export interface JobMounter {
  mount(spec: JobSpec): Promise<JobHandle>
  /** Called once when the server stops, after every job is unmounted. */
  close?(): Promise<void>
  /** Extra fields for `GET /health` (remote, base commit, ...). */
  describe?(): Record<string, unknown>
  /** `GET /stats`: what the jobs' shared store fetched and where reads were answered. */
  stats?(): Record<string, unknown>
}
