// Public surface of the object store: `openStore` gives the ObjectStore of one remote, backed by
// `<cacheDir>/objects/<remote key>/` (shared by every workspace and process).
import { join } from 'node:path'
import type { Remote } from '../remote/types.ts'
import { DiskObjectDb } from './disk.ts'
import { Store, type StoreOptions } from './store.ts'

export type * from './types.ts'
export { Store, type StoreOptions } from './store.ts'
export type { PushResult } from './push.ts'
export type { GcResult } from './gc.ts'
export { DiskObjectDb } from './disk.ts'
export { readTreeSoon } from './tree_soon.ts'
export { parseRevision, resolveBase, resolveRevision } from './revision.ts'

export async function openStore(options: { remote: Remote; cacheDir: string; memoryBytes?: number } & StoreOptions): Promise<Store> {
  const db = new DiskObjectDb(join(options.cacheDir, 'objects', options.remote.key))
  await db.init()
  return new Store(options.remote, db, options)
}
