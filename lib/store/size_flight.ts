// Single flight of size queries across the processes of one cache. A size query covers thousands
// of ids (a region of the tree a walk goes through), so a claim per id, as content fetches make
// (flight.ts), would cost thousands of file system calls per query. Instead a process about to ask
// the server announces the ids in one file, `<db>/sizing/<pid>.<start>.<token>.<host>` (20 bytes per
// id, put in place by a rename: never seen half written), and removes it once the answer is in the
// shared sizes file. A process that wants ids announced by a live holder waits for that file to go,
// then reads the sizes from the shared file; what is still unknown (the holder failed or died) it
// asks for itself. Eight jobs walking the same tree at once asked the server for 7.4× one job's sizes
// (35.6 MB of object-info replies for 4.8 MB) before this. Two processes announcing the same ids at the
// same instant both ask: a lost race costs a duplicate query, never a wrong size.
import { promises as fsp } from 'node:fs'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { bytesToHex } from '../git/sha1.ts'
import { holderGone } from '../registry/holder.ts'
import { pidStartTime } from '../registry/mountinfo.ts'
import { SharedPoll } from './poll.ts'
import type { Oid } from './types.ts'

/** A holder on another host (a cache on a network file system) is trusted this long. */
const STALE_MS = 120_000

export class SizeFlight {
  readonly dir: string
  /** Announcements read so far (a file never changes once in place), by name. */
  private seen = new Map<string, Set<Oid>>()
  private made = false
  private readonly poll = new SharedPoll<string>((keys) => this.look(keys))

  constructor(dbDir: string) {
    this.dir = join(dbDir, 'sizing')
  }

  /**
   * Splits `oids` into those this process now announces (`mine`: ask, then `release`) and those
   * announced by others. Processes that waited for the same answer wake at the same poll and
   * announce at once: after announcing, ids also in an announcement put in place earlier (ctime,
   * then name: every process sees the same order) are left to it.
   */
  async claim(oids: Oid[]): Promise<{ mine: Oid[]; others: Oid[]; waitOthers: () => Promise<void>; release: () => Promise<void> }> {
    const held = idsOf(await this.announced())
    let mine: Oid[] = []
    const others: Oid[] = []
    for (const o of oids) (held.has(o) ? others : mine).push(o)
    if (!mine.length) return { mine, others, waitOthers: () => this.waitOut(others), release: async () => {} }
    const own = await this.announce(mine).catch(() => null) // unannounced, the query is only not shared
    if (own) {
      const before = (await this.announced()).filter((a) => a.name !== own.name && (a.ctime < own.ctime || (a.ctime === own.ctime && a.name < own.name)))
      const earlier = idsOf(before)
      if (earlier.size) {
        others.push(...mine.filter((o) => earlier.has(o)))
        mine = mine.filter((o) => !earlier.has(o))
      }
    }
    return { mine, others, waitOthers: () => this.waitOut(others, own?.name), release: async () => void (own && (await fsp.rm(own.path, { force: true }))) }
  }

  /** Resolves once no live announcement but `except` holds any of `oids` (one poll for all waits, poll.ts). */
  private async waitOut(oids: Oid[], except = ''): Promise<void> {
    await this.poll.wait(oids.map((o) => `${except} ${o}`))
  }

  private async look(keys: string[]): Promise<{ done: Set<string>; orphaned: Set<string> }> {
    const list = await this.announced()
    const done = new Set<string>()
    for (const k of keys) {
      const [except, oid] = k.split(' ')
      if (!list.some((a) => a.name !== except && a.ids.has(oid))) done.add(k)
    }
    return { done, orphaned: new Set() }
  }

  /** Removes announcements of holders that are gone, and half-written ones over an hour old (gc). */
  async sweep(): Promise<void> {
    await this.announced()
    for (const n of await fsp.readdir(this.dir).catch(() => [] as string[])) {
      if (!n.startsWith('.')) continue
      const st = await fsp.stat(join(this.dir, n)).catch(() => null)
      if (st && Date.now() - st.mtimeMs > 3600_000) await fsp.rm(join(this.dir, n), { force: true })
    }
  }

  /** The announcements of live processes (those of dead ones are removed). */
  private async announced(): Promise<Announcement[]> {
    const names = (await fsp.readdir(this.dir).catch(() => [] as string[])).filter((n) => !n.startsWith('.'))
    const present = new Set(names)
    for (const n of this.seen.keys()) if (!present.has(n)) this.seen.delete(n)
    const out: Announcement[] = []
    for (const name of names) {
      const [pid, start, , ...host] = name.split('.')
      const path = join(this.dir, name)
      let ids = this.seen.get(name)
      if (!ids) {
        const buf = await fsp.readFile(path).catch(() => null)
        if (!buf) continue
        ids = new Set<Oid>()
        for (let at = 0; at + 20 <= buf.length; at += 20) ids.add(bytesToHex(buf, at, at + 20))
        this.seen.set(name, ids)
      }
      const st = await fsp.stat(path, { bigint: true }).catch(() => null)
      if (!st) continue
      if (holderGone(`${pid} ${start} ${host.join('.')}`, Number(st.mtimeMs), STALE_MS)) {
        await fsp.rm(path, { force: true })
        continue
      }
      out.push({ name, path, ids, ctime: st.ctimeNs })
    }
    return out
  }

  private async announce(ids: Oid[]): Promise<{ name: string; path: string; ctime: bigint }> {
    if (!this.made) await fsp.mkdir(this.dir, { recursive: true }), (this.made = true)
    const buf = Buffer.alloc(ids.length * 20)
    ids.forEach((o, k) => buf.write(o, k * 20, 20, 'hex'))
    const name = `${process.pid}.${pidStartTime(process.pid) ?? ''}.${randomBytes(6).toString('hex')}.${hostname()}`
    const tmp = join(this.dir, `.${name}`)
    await fsp.writeFile(tmp, buf)
    const path = join(this.dir, name)
    // The rename sets the ctime that orders announcements made at once.
    await fsp.rename(tmp, path)
    this.seen.set(name, new Set(ids))
    return { name, path, ctime: (await fsp.stat(path, { bigint: true })).ctimeNs }
  }
}

interface Announcement {
  name: string
  path: string
  ids: Set<Oid>
  ctime: bigint
}

function idsOf(list: Announcement[]): Set<Oid> {
  const out = new Set<Oid>()
  for (const a of list) for (const o of a.ids) out.add(o)
  return out
}
