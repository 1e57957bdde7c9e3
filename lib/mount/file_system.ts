// The file system a mount serves: the overlay (upper ∪ CL ∪ lower) behind the vfs (inodes, lookup
// counts, handles), as a RawFileSystem for lib/fuse.
import type { FuseMount, RawFileSystem } from '../fuse/mod.ts'
import type { LowerView } from '../lower/mod.ts'
import { Overlay } from '../overlay/mod.ts'
import type { Store } from '../store/mod.ts'
import { createVfs, type Vfs } from '../vfs/mod.ts'
import type { WorkspaceState } from '../workspace/mod.ts'
import { ReadRecorder } from './read_log.ts'

export interface BuildOptions {
  store: Store
  lower: LowerView
  state: WorkspaceState
  stateDir: string
  log?: (line: string) => void
  /** Append the paths whose lower contents are read to this file (prefetch profiles). */
  recordReads?: string
}

export interface BuiltFileSystem {
  fs: RawFileSystem
  overlay: Overlay
  vfs: Vfs
  /** Gives the vfs the live mount (kernel cache invalidation). */
  attach?(mount: FuseMount): void
  close(): Promise<void>
}

export async function buildFileSystem(options: BuildOptions): Promise<BuiltFileSystem> {
  const overlay = new Overlay({ upperDir: options.state.upperDir, lower: options.lower, log: options.log })
  await overlay.init()
  const recorder = options.recordReads ? new ReadRecorder(options.recordReads) : undefined
  if (recorder) {
    const readLower = overlay.readLower.bind(overlay)
    overlay.readLower = (path, entry) => {
      recorder.record(path)
      return readLower(path, entry)
    }
  }
  const vfs = createVfs({ overlay, log: options.log })
  return {
    fs: vfs.fs,
    overlay,
    vfs,
    attach: (mount) => vfs.attach(mount),
    async close() {
      recorder?.flush()
    },
  }
}
