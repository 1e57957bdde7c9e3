// Single flight of size queries across the processes of one cache. A size query covers thousands
// of ids (a region of the tree a walk goes through), so a claim per id, as content fetches make
// (flight.ts), would cost thousands of file system calls per query. Instead a process about to ask
// the server announces the ids in one file, `<db>/sizing/<n>` (its holder, then 20 bytes per id; put
// in place by a link: never seen half written), and removes it once the answer is in the shared sizes
// file. A process that wants ids announced by a live holder waits for that file to go,
// then reads the sizes from the shared file; what is still unknown (the holder failed or died) it
// asks for itself. Eight jobs walking the same tree at once asked the server for 7.4× one job's sizes
// (35.6 MB of object-info replies for 4.8 MB) before this. Announcements made at once are ordered by
// their numbers (ctime, tried first, ticks too coarsely: processes in step tied and both asked).
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { bytesToHex } from '../git/sha1.ts'
import { holderGone, holderText } from '../registry/holder.ts'
import { SharedPoll } from './poll.ts'
import { trace } from '../trace.ts'
import type { Oid } from './types.ts'

/** A holder on another host (a cache on a network file system) is trusted this long. */
const STALE_MS = 120_000
/** A holder found alive is judged again after this long. */
const HOLDER_LOOK_MS = 1000
/** The holder's `pid start host token` (holder.ts), zero-padded, before the ids. */
const HEADER = 96

export class SizeFlight {
  readonly dir: string
  /** Announcements read so far (a file never changes once in place), by name and inode. */
  private seen = new Map<string, { holder: string; ids: Set<Oid> }>()
  private made = false
  /** When each holder was last found alive. */
  private aliveAt = new Map<string, number>()
  private readonly poll = new SharedPoll<string>((keys) => this.look(keys))

  constructor(dbDir: string) {
    this.dir = join(dbDir, 'sizing')
  }

  /**
   * Splits `oids` into those this process now announces (`mine`: ask, then `release`) and those
   * announced by others. Processes that waited for the same answer wake at the same poll and
   * announce at once: after announcing, ids also in an announcement with a lower number are left
   * to it (numbers are taken above every one in use, so a lower one is in place when the higher
   * one looks; the rare lower number taken after a higher one looked, once all below were freed,
   * costs a duplicate query, never a wrong size).
   */
  async claim(oids: Oid[]): Promise<{ mine: Oid[]; others: Oid[]; waitOthers: () => Promise<void>; release: () => Promise<void> }> {
    // Waits are for the announcements that hold the ids, not for the ids: a poll then looks at a
    // handful of files, not at each of the tens of thousands of ids eight walks wait for.
    const waitFor = new Set<string>()
    const holderOf = (list: Announcement[], o: Oid) => list.find((a) => a.ids.has(o))
    const first = await this.announced()
    let mine: Oid[] = []
    const others: Oid[] = []
    for (const o of oids) {
      const a = holderOf(first, o)
      if (a) others.push(o), waitFor.add(a.key)
      else mine.push(o)
    }
    const own = mine.length ? await this.announce(mine).catch(() => null) : null // unannounced, the query is only not shared
    if (own) {
      const earlier = (await this.announced()).filter((a) => a.seq < own.seq)
      if (earlier.length) {
        mine = mine.filter((o) => {
          const a = holderOf(earlier, o)
          return a ? void (others.push(o), waitFor.add(a.key)) : true
        })
      }
    }
    trace(`sizes: claim ${oids.length}: saw [${first.map((a) => a.name).join(' ')}] own ${own?.name ?? '-'} mine ${mine.length} waits [${[...waitFor].map((k) => k.split(' ')[0]).join(' ')}]`)
    return { mine, others, waitOthers: () => this.poll.wait([...waitFor]).then(() => {}), release: () => (own ? this.remove(own) : Promise.resolve()) }
  }

  /** One look at the announcements waited for: those gone (answered, or their holder died) are done. */
  private async look(keys: string[]): Promise<{ done: Set<string>; orphaned: Set<string> }> {
    const live = new Map((await this.announced()).map((a) => [a.key, a]))
    const done = new Set(keys.filter((k) => !live.has(k)))
    if (done.size < keys.length && Date.now() - this.traced > 5000) {
      this.traced = Date.now()
      const holding = keys.flatMap((k) => live.get(k) ?? [])
      trace(`store: still waiting for sizes announced by ${holding.map((a) => `${a.name} (${a.holder.split(' ')[0]})`).join(', ')}`)
    }
    return { done, orphaned: new Set() }
  }
  private traced = 0

  /** Removes announcements of holders that are gone, and other files over an hour old (half written, an older version's) (gc). */
  async sweep(): Promise<void> {
    await this.announced()
    for (const n of await fsp.readdir(this.dir).catch(() => [] as string[])) {
      if (/^\d+$/.test(n)) continue
      const st = await fsp.stat(join(this.dir, n)).catch(() => null)
      if (st && Date.now() - st.mtimeMs > 3600_000) await fsp.rm(join(this.dir, n), { force: true })
    }
  }

  /** The announcements of live processes (those of dead ones are removed). */
  private async announced(): Promise<Announcement[]> {
    const names = (await fsp.readdir(this.dir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n))
    const out: Announcement[] = []
    const keep = new Set<string>()
    for (const name of names) {
      const path = join(this.dir, name)
      const st = await fsp.stat(path).catch(() => null)
      if (!st) continue
      // A number is used again once free: its inode tells one announcement from the next.
      const key = `${name} ${st.ino}`
      let a = this.seen.get(key)
      if (!a) {
        const buf = await fsp.readFile(path).catch(() => null)
        if (!buf || buf.length < HEADER) continue
        const ids = new Set<Oid>()
        for (let at = HEADER; at + 20 <= buf.length; at += 20) ids.add(bytesToHex(buf, at, at + 20))
        a = { holder: buf.toString('utf8', 0, HEADER).replace(/\0+$/, ''), ids }
        this.seen.set(key, a)
      }
      // A holder found alive is not judged again for a second (each poll tick lists the announcements).
      const holderProcess = a.holder.split(' ', 3).join(' ') // pid, start, host: one process's announcements
      if ((this.aliveAt.get(holderProcess) ?? 0) < Date.now() - HOLDER_LOOK_MS) {
        if (holderGone(a.holder, { mtimeMs: st.mtimeMs, afterMs: STALE_MS })) {
          await fsp.rm(path, { force: true })
          continue
        }
        this.aliveAt.set(holderProcess, Date.now())
      }
      keep.add(key)
      out.push({ name, path, key, ids: a.ids, seq: Number(name), holder: a.holder })
    }
    for (const k of this.seen.keys()) if (!keep.has(k)) this.seen.delete(k)
    if (this.aliveAt.size > 1000) this.aliveAt.clear()
    return out
  }

  /** Removes one's own announcement, unless it was judged stale and its number is now another's. */
  private async remove(own: { path: string; ino: number }): Promise<void> {
    const st = await fsp.stat(own.path).catch(() => null)
    if (st?.ino === own.ino) await fsp.rm(own.path, { force: true })
  }

  /** Writes the announcement and puts it in place under the lowest number above every one in use. */
  private async announce(ids: Oid[]): Promise<{ name: string; path: string; seq: number; ino: number }> {
    if (!this.made) await fsp.mkdir(this.dir, { recursive: true }), (this.made = true)
    const buf = Buffer.alloc(HEADER + ids.length * 20)
    buf.write(holderText().slice(0, HEADER), 0, 'utf8')
    ids.forEach((o, k) => buf.write(o, HEADER + k * 20, 20, 'hex'))
    const tmp = join(this.dir, `.${process.pid}.${randomBytes(6).toString('hex')}`)
    await fsp.writeFile(tmp, buf)
    const { ino } = await fsp.stat(tmp)
    try {
      const used = (await fsp.readdir(this.dir)).filter((n) => /^\d+$/.test(n)).map(Number)
      for (let seq = Math.max(0, ...used) + 1; ; seq++) {
        const path = join(this.dir, String(seq))
        const taken = await fsp.link(tmp, path).then(() => true, (e: NodeJS.ErrnoException) => {
          if (e.code === 'EEXIST') return false
          throw e
        })
        if (taken) return { name: String(seq), path, seq, ino }
      }
    } finally {
      await fsp.rm(tmp, { force: true })
    }
  }
}

interface Announcement {
  name: string
  /** `name inode`: one announcement, told apart from a later one given the same number. */
  key: string
  holder: string
  path: string
  ids: Set<Oid>
  seq: number
}
