// Single flight of object fetches across the processes of one cache: before asking the server
// for an object, a process claims it with `<db>/flight/<id>`, a symlink whose target names the
// holder (`pid start host`): one syscall creates it with its contents, and it fails when another
// process holds the id. Ids held elsewhere are waited for on disk. A holder that dies (same host:
// its pid is gone or reused; another host: the claim is older than STALE_MS) or gives up (its
// fetch failed: it removes its claims) leaves the id to a waiter. A lost race here costs a
// duplicate fetch, never a wrong object: every object is verified and written atomically.
import { promises as fsp } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { holderGone } from '../registry/holder.ts'
import { pidStartTime } from '../registry/mountinfo.ts'
import { SharedPoll } from './poll.ts'
import type { Oid } from './types.ts'

const STALE_MS = 120_000
const HOST = hostname()
/** How often waiters look at the claims of what they wait for (not only for the objects). */
const CLAIMS_LOOK_MS = 1000
/** Claims made at once (file system calls in flight). */
const CONCURRENCY = 64

async function pool<T>(items: T[], fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0
  const worker = async () => {
    while (next < items.length) await fn(items[next++])
  }
  await Promise.all(Array.from({ length: Math.min(CONCURRENCY, items.length) }, worker))
}

export class FlightClaims {
  readonly dir: string
  private readonly me = `${process.pid} ${pidStartTime(process.pid) ?? ''} ${HOST}`
  private made = false

  private readonly poll = new SharedPoll<Oid>((ids) => this.look(ids))
  private claimsLooked = 0

  /** `has` tells which objects are stored (waits end when they are). */
  constructor(dbDir: string, private readonly has: (oids: Oid[]) => Promise<boolean[]> = async (o) => o.map(() => false)) {
    this.dir = join(dbDir, 'flight')
  }

  /** Claims what it can of `oids`: `mine` to fetch (then `release`), `others` held elsewhere. */
  async claim(oids: Oid[]): Promise<{ mine: Oid[]; others: Oid[] }> {
    if (!this.made) await fsp.mkdir(this.dir, { recursive: true }), (this.made = true)
    const mine: Oid[] = []
    const others: Oid[] = []
    await pool(oids, async (oid) => {
      const path = join(this.dir, oid)
      for (let attempt = 0; ; attempt++) {
        const err = await fsp.symlink(this.me, path).then(() => null, (e: NodeJS.ErrnoException) => e)
        if (!err) return void mine.push(oid)
        if (err.code !== 'EEXIST') throw err
        // Held: by a live process, or released or taken over from a dead one (then claimed
        // again, unless another process got there first: then it is waited for).
        if (attempt > 2 || !(await this.takeOverIfStale(path))) return void others.push(oid)
      }
    })
    return { mine, others }
  }

  async release(oids: Oid[]): Promise<void> {
    await pool(oids, (oid) => fsp.unlink(join(this.dir, oid)).catch(() => {}))
  }

  /**
   * Waits until each of `oids` is on disk (`has`) or no longer held by a live process; returns
   * the ones that are not on disk (their holder failed or died): the caller claims them itself.
   * Every wait of this process shares one poll (poll.ts).
   */
  waitOut(oids: Oid[]): Promise<Oid[]> {
    return this.poll.wait(oids)
  }

  /** One look at the ids waited for: on disk now, or held by nobody and absent. */
  private async look(ids: Oid[]): Promise<{ done: Set<Oid>; orphaned: Set<Oid> }> {
    const done = new Set<Oid>()
    const orphaned = new Set<Oid>()
    const present = await this.has(ids)
    const rest = ids.filter((o, i) => (present[i] ? void done.add(o) : true))
    // Nearly every wait ends with the object stored; the claims (a holder that failed or died)
    // are looked at once a second, not at every tick: per id, that was most of a waiting mount's CPU.
    if (!rest.length || Date.now() - this.claimsLooked < CLAIMS_LOOK_MS) return { done, orphaned }
    this.claimsLooked = Date.now()
    const gone: Oid[] = []
    // Many ids share a few holders: each holder is judged once per look.
    const judged = new Map<string, boolean>()
    await pool(rest, async (oid) => {
      const path = join(this.dir, oid)
      if (await this.takeOverIfStale(path, judged)) gone.push(oid)
    })
    if (gone.length) {
      // The holder may have stored the object and then released it between the two looks.
      const again = await this.has(gone)
      gone.forEach((o, i) => (again[i] ? done : orphaned).add(o))
    }
    return { done, orphaned }
  }

  /** Removes the claims of holders that are gone (a process killed mid-fetch leaves its claims). */
  async sweep(): Promise<void> {
    const names = await fsp.readdir(this.dir).catch(() => [] as string[])
    await pool(names, (n) => this.takeOverIfStale(join(this.dir, n)).then(() => {}))
  }

  /** Removes the claim at `path` when its holder is gone; true when it is no longer held. */
  private async takeOverIfStale(path: string, judged?: Map<string, boolean>): Promise<boolean> {
    const holder = await fsp.readlink(path).catch(() => null)
    if (holder === null) return true
    const [pid, , host] = holder.split(' ')
    let stale: boolean
    if (host === HOST && pid) {
      // No heartbeat: a claim of a live process on this host never ages out.
      stale = judged?.get(holder) ?? holderGone(holder)
      judged?.set(holder, stale)
    } else {
      const st = await fsp.lstat(path).catch(() => null)
      if (!st) return true
      stale = holderGone(holder, { mtimeMs: st.mtimeMs, afterMs: STALE_MS })
    }
    if (!stale) return false
    // Removed only while it still names the dead holder (a narrow race costs a duplicate fetch).
    if ((await fsp.readlink(path).catch(() => null)) === holder) await fsp.unlink(path).catch(() => {})
    return true
  }
}
