// The mounts on this machine (one JSON file per mount) and what the kernel says is mounted.
export {
  canonicalPath,
  dropRecord,
  findMount,
  findWorkspaceForPath,
  listMounts,
  recordIsLive,
  registerMount,
  registryDir,
  unregisterMount,
} from './registry.ts'
export type { ListOptions, MountRecord, RegistryOptions } from './registry.ts'
export { fuseMountAt, isMountedAt, parseMountInfo, pidAlive, pidStartTime, readMountInfo } from './mountinfo.ts'
export type { MountInfoEntry } from './mountinfo.ts'
