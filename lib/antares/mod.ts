// Antares: one process serving many isolated CI job mounts over one shared lower layer, behind
// Mega Antares's HTTP routes.
export type {
  CreateMountRequest, ErrorBody, ErrorCode, HealthResponse, JobHandle, JobMounter, JobSpec, LifecycleName,
  MountCreated, MountLayers, MountLifecycle, MountReadyResponse, MountStatus,
} from './types.ts'
export { AntaresError } from './errors.ts'
export { AntaresService, lifecycleName, type AntaresServiceOptions } from './service.ts'
export { listenAntares, handleRequest, type AntaresServer, type AntaresServerOptions } from './http_server.ts'
export { serveAntares, type RunningAntares, type ServeAntaresOptions } from './serve.ts'
export { parseBind, isLoopback, checkBindSecurity, authorized, DEFAULT_BIND, MIN_TOKEN_LENGTH, type BindAddress } from './bind.ts'
export { loadJobRecords, ANTARES_STATE_FILE, type JobRecord } from './state_file.ts'
export { detachMount, isMounted } from './stale.ts'
