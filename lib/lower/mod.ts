// lib/lower: the read-only layers beneath the upper (one commit's tree, optionally a CL over it).
export { openLower, GitLowerView, entryFromGit, type OpenLowerOptions } from './git_view.ts'
export { applyMegaCl, applyLocalCl, ClLowerView, type ClChange } from './cl.ts'
export { splitPath, type LowerEntry, type LowerKind, type LowerView } from './types.ts'
export { readAheadCounters, type ReadAheadCounters } from './read_ahead_stats.ts'
export type { ReadAheadOptions } from './read_ahead.ts'
