// A JobMounter for the HTTP/state-machine tests: it mounts nothing, records what it was asked to
// do and can be told to fail or to hold an operation open. Real mounts live in the *_fuse tests.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { JobHandle, JobMounter, JobSpec } from '../../lib/antares/mod.ts'

export interface Gate {
  promise: Promise<void>
  open(): void
  fail(err: Error): void
}

export function gate(): Gate {
  let open!: () => void
  let fail!: (err: Error) => void
  const promise = new Promise<void>((res, rej) => { open = res; fail = rej })
  return { promise, open, fail }
}

export class RecordingMounter implements JobMounter {
  mounts: JobSpec[] = []
  unmounts: string[] = []
  clChanges: Array<{ mountId: string; cl: string | undefined }> = []
  live = new Set<string>()
  /** Next mount throws this. */
  failNext?: Error
  /** Mounts wait for this gate before returning. */
  holdMount?: Gate
  /** Each handle's `ready` waits for this gate. */
  holdReady?: Gate
  /** Handles offer setCl (in-place CL switch). */
  inPlaceCl = true
  closed = false

  async mount(spec: JobSpec): Promise<JobHandle> {
    this.mounts.push(spec)
    if (this.holdMount) await this.holdMount.promise
    if (this.failNext) {
      const err = this.failNext
      this.failNext = undefined
      throw err
    }
    // Leave a trace in the upper dir so tests can see which upper a job got.
    await fsp.writeFile(join(spec.upperDir, '.mounted-by-test'), spec.mountId)
    this.live.add(spec.mountId)
    const handle: JobHandle = {
      unmount: async () => {
        this.unmounts.push(spec.mountId)
        this.live.delete(spec.mountId)
      },
    }
    if (this.holdReady) handle.ready = this.holdReady.promise
    if (this.inPlaceCl) {
      handle.setCl = async (cl) => {
        this.clChanges.push({ mountId: spec.mountId, cl })
      }
    }
    return handle
  }

  async close(): Promise<void> {
    this.closed = true
  }

  describe() {
    return { remote: 'test://recording' }
  }
}
