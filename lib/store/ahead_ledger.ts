// What was fetched ahead of its readers and not read yet, against the distinct bytes read: the
// read-ahead's waste bound (lib/lower/read_ahead.ts) holds for every reader of a cache together.
// In memory it serves the views of one process (32 antares jobs, each with its own bound, fetched
// 17 MB of guesses the others' reads had not confirmed: 2.4× one job's bytes). Kept in a shared
// file (`<db>/ahead`) it serves separate processes too: 8 mount processes reading the same 2,000
// files, each under its own bound, fetched 36.7 MB ahead against 12.5 MB for one of them alone.
import { trace } from '../trace.ts'
import { SharedRecords } from './shared_records.ts'
import type { Oid } from './types.ts'

/** Ids tracked (read, or fetched ahead and not read): older ones are forgotten past this. */
const TRACKED_MAX = 200_000
/** A record's value: the size, with this bit set for "fetched ahead" (clear: "read"). */
const AHEAD = 0x8000_0000
const SIZE_MASK = 0x7fff_ffff
/** Records kept in the shared file before it starts afresh (the bound's memory then starts over). */
const FILE_RECORDS = 400_000
/** Own records wait this long to go out together (one append for a burst of reads). */
const FLUSH_MS = 50

export class AheadLedger {
  /** Distinct bytes read. */
  read = 0
  /** Bytes fetched ahead and not read yet. */
  unreadBytes = 0
  private readIds = new Set<Oid>()
  private unread = new Map<Oid, number>()
  private readonly file: SharedRecords | undefined
  private out: [Oid, number][] = []
  private timer: ReturnType<typeof setTimeout> | undefined
  private syncing: Promise<void> | undefined
  private again = false

  /** Without `path` the ledger is this process's alone. */
  constructor(path?: string) {
    if (path) this.file = new SharedRecords(path, (oid, v) => (v >= AHEAD ? this.ahead(oid, v - AHEAD) : this.readOf(oid, v)), FILE_RECORDS)
  }

  noteRead(oid: Oid, size: number): void {
    if (this.readOf(oid, size)) this.publish(oid, Math.min(size, SIZE_MASK))
  }

  noteAhead(oid: Oid, size: number): void {
    if (this.ahead(oid, size)) this.publish(oid, AHEAD + Math.min(size, SIZE_MASK))
  }

  /**
   * Sends this process's records and takes in the others'. One at a time: a caller arriving during
   * a sync waits for it and one more, so what it noted before calling is out when it resolves.
   */
  sync(): Promise<void> {
    if (!this.file) return Promise.resolve()
    if (this.syncing) {
      this.again = true
      return this.syncing
    }
    const run = async (): Promise<void> => {
      do {
        this.again = false
        if (this.timer) clearTimeout(this.timer), (this.timer = undefined)
        const out = this.out.splice(0)
        if (out.length) await this.file!.add(out)
        await this.file!.refresh().catch((err) => trace(`read-ahead: the shared ledger could not be read: ${(err as Error).message}`))
      } while (this.again || this.out.length)
    }
    this.syncing = run().finally(() => (this.syncing = undefined))
    return this.syncing
  }

  /** True when `oid` was not known to be read. */
  private readOf(oid: Oid, size: number): boolean {
    const ahead = this.unread.get(oid)
    if (ahead !== undefined) this.unread.delete(oid), (this.unreadBytes -= ahead)
    if (this.readIds.has(oid)) return false
    if (this.readIds.size >= TRACKED_MAX) this.readIds.clear()
    this.readIds.add(oid)
    this.read += size
    return true
  }

  /** True when `oid` is newly known as fetched ahead and not read. */
  private ahead(oid: Oid, size: number): boolean {
    if (this.unread.has(oid) || this.readIds.has(oid)) return false
    if (this.unread.size >= TRACKED_MAX) {
      const [first, n] = this.unread.entries().next().value!
      this.unread.delete(first)
      this.unreadBytes -= n
    }
    this.unread.set(oid, size)
    this.unreadBytes += size
    return true
  }

  private publish(oid: Oid, value: number): void {
    if (!this.file) return
    this.out.push([oid, value])
    if (this.timer) return
    this.timer = setTimeout(() => void this.sync(), FLUSH_MS)
    this.timer.unref?.()
  }
}
