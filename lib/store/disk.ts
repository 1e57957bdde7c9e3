// The on-disk object database of one remote: `<dir>/<2 hex>/<38 hex>` holding `type size\0body`
// (uncompressed: reads are a plain file read, and the file's SHA-1 is the object id, so a corrupt
// file is detected on every read). Writes are temp + rename, so any number of processes can share
// the directory; two writers of one object write identical bytes. Large fetches go to batch files
// instead (packs.ts): one data file + one index per batch.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { PackSet, type PackLoc } from './packs.ts'
import { isObjectType, type ObjectType, type Oid } from './types.ts'

export interface StoredObject {
  type: ObjectType
  body: Uint8Array
}

const TOUCH_AFTER_MS = 10 * 60 * 1000
/**
 * How old a list of the packs (or of the fan-out directories) may be for a read, a size or a
 * read-ahead choice that misses: each listing cost a follower of a busy cache ~13% of its CPU (a
 * pack per fetch of its broker changes the directory all the time). What is missed for it is
 * looked for again by the fetch that follows, with a fresh list.
 */
export const LIST_FRESH_MS = 250
const ORPHAN_AGE_MS = 10 * 60 * 1000

/** The type named by header bytes `b[0 .. sp)`, or undefined. */
function typeAt(b: Uint8Array, sp: number): ObjectType | undefined {
  const c = b[0]
  if (sp === 4) {
    if (c === 0x62 && b[1] === 0x6c && b[2] === 0x6f && b[3] === 0x62) return 'blob'
    if (c === 0x74 && b[1] === 0x72 && b[2] === 0x65 && b[3] === 0x65) return 'tree'
  } else if (sp === 6) {
    if (c === 0x63 && b[1] === 0x6f && b[2] === 0x6d && b[3] === 0x6d && b[4] === 0x69 && b[5] === 0x74) return 'commit'
  } else if (sp === 3 && c === 0x74 && b[1] === 0x61 && b[2] === 0x67) return 'tag'
  return undefined
}

function parseHeader(buf: Uint8Array): { type: ObjectType; size: number; start: number } | null {
  // The common shape read byte by byte (a walk reads ~100k trees); anything else the general way.
  let sp = 0
  while (sp < 7 && sp < buf.length && buf[sp] !== 0x20) sp++
  const type = buf[sp] === 0x20 ? typeAt(buf, sp) : undefined
  if (type) {
    let size = 0
    let k = sp + 1
    for (; k < buf.length && k <= sp + 15; k++) {
      const d = buf[k] - 48
      if (d < 0 || d > 9) break
      size = size * 10 + d
    }
    if (k > sp + 1 && k < buf.length && buf[k] === 0) return { type, size, start: k + 1 }
  }
  return parseHeaderSlow(buf)
}

function parseHeaderSlow(buf: Uint8Array): { type: ObjectType; size: number; start: number } | null {
  const nul = buf.indexOf(0)
  if (nul < 0 || nul > 32) return null
  const head = Buffer.from(buf.buffer, buf.byteOffset, nul).toString('latin1')
  const sp = head.indexOf(' ')
  const type = head.slice(0, sp)
  const size = Number(head.slice(sp + 1))
  if (!isObjectType(type) || !Number.isSafeInteger(size)) return null
  return { type: type as ObjectType, size, start: nul + 1 }
}

/** A stored record `type size\0body` (a view of `buf`), or null when malformed. */
function parseRecord(buf: Buffer): StoredObject | null {
  const h = parseHeader(buf)
  if (!h || buf.length !== h.start + h.size) return null
  return { type: h.type, body: new Uint8Array(buf.buffer, buf.byteOffset + h.start, h.size) }
}

export class DiskObjectDb {
  readonly dir: string
  private made = new Set<string>()
  readonly packs: PackSet
  /** Ids found corrupt inside a pack (re-fetched copies are written loose and win). */
  private bad = new Set<Oid>()
  private packTouched = new Map<string, number>()
  /** The last listing of the object directory (fanOut). */
  private listed: { at: number; names: Set<string> } | null = null
  /** Called with the id of a file found corrupt (it has been deleted). */
  onCorrupt?: (oid: Oid) => void

  constructor(dir: string) {
    this.dir = dir
    this.packs = new PackSet(dir)
  }

  async init(): Promise<void> {
    await fsp.mkdir(join(this.dir, 'tmp'), { recursive: true })
    await this.removeOrphans()
    await this.packs.refresh()
  }

  /**
   * Temp files of writers that died (kill -9 mid-fetch): `.incoming.<pid>.*` and `.<name>.idx.<pid>.*`
   * in packs/, `<oid>.<pid>.*` in tmp/. Never visible as objects, but they would stay forever.
   * Only files of processes that no longer exist, untouched for 10 minutes (a writer in another
   * pid namespace may share the cache), are removed.
   */
  private async removeOrphans(): Promise<void> {
    const dead = (pid: number) => {
      if (!Number.isInteger(pid) || pid <= 0 || pid === process.pid) return false
      try {
        process.kill(pid, 0)
        return false
      } catch (err) {
        return (err as NodeJS.ErrnoException).code === 'ESRCH'
      }
    }
    const sweep = async (dir: string, pidOf: (name: string) => number) => {
      const names = await fsp.readdir(dir).catch(() => [] as string[])
      await Promise.all(
        names
          .filter((n) => dead(pidOf(n)))
          .map(async (n) => {
            const st = await fsp.stat(join(dir, n)).catch(() => null)
            if (st && Date.now() - st.mtimeMs > ORPHAN_AGE_MS) await fsp.rm(join(dir, n), { force: true }).catch(() => {})
          }),
      )
    }
    await sweep(join(this.dir, 'packs'), (n) => {
      const m = /^\.incoming\.(\d+)\.[0-9a-f]+$/.exec(n) ?? /^\.[0-9a-f]{40}\.idx\.(\d+)\.[0-9a-f]+$/.exec(n)
      return m ? Number(m[1]) : 0
    })
    await sweep(join(this.dir, 'tmp'), (n) => {
      const m = /^[0-9a-f]{40}\.(\d+)\.[0-9a-f]+$/.exec(n)
      return m ? Number(m[1]) : 0
    })
  }

  /** `rescan`: re-list the packs when the id is in none (a number: only a list older than that many ms). */
  private async locate(oid: Oid, rescan: boolean | number) {
    if (this.bad.has(oid)) return null
    const loc = this.packs.locate(oid)
    if (loc || rescan === false) return loc
    return (await this.packs.refresh(rescan === true ? {} : { within: rescan })) ? this.packs.locate(oid) : null
  }

  private verify(buf: Buffer, oid: Oid): StoredObject | null {
    const o = parseRecord(buf)
    return o && createHash('sha1').update(buf).digest('hex') === oid ? o : null
  }

  private async readPacked(oid: Oid, rescan: boolean | number, found?: PackLoc): Promise<StoredObject | null> {
    const loc = found ?? (await this.locate(oid, rescan))
    if (!loc) return null
    const hot = this.readHot(oid, loc)
    if (hot !== undefined) return hot
    const buf = await loc.pack.read(loc.offset, loc.length).catch(() => null)
    return this.packedRead(oid, loc, buf && this.verify(buf, oid))
  }

  /** The object when it lies in a pack held in memory (no I/O), null when it is corrupt there,
   *  undefined when it is not in such a pack. With `view`, the body is a view of the pack's
   *  memory: to be read at once (parsed), never kept or changed. */
  readNow(oid: Oid, options: { view?: boolean } = {}): StoredObject | null | undefined {
    const loc = this.bad.has(oid) ? null : this.packs.locate(oid)
    return loc ? this.readHot(oid, loc, options.view) : undefined
  }

  private readHot(oid: Oid, loc: PackLoc, view = false): StoredObject | null | undefined {
    const pack = loc.pack
    const hot = pack.hotView(loc.offset, loc.length)
    if (!hot) return undefined
    // The in-memory copy cannot change: each record is hashed once, not on every read.
    const known = pack.isChecked(loc.index)
    let o = known ? parseRecord(hot) : this.verify(hot, oid)
    if (o) {
      if (!known) pack.markChecked(loc.index)
      // A copy: the caller owns what it gets (the pack's buffer is shared).
      if (!view) o = { type: o.type, body: Uint8Array.prototype.slice.call(o.body) as Uint8Array }
    }
    return this.packedRead(oid, loc, o)
  }

  /** Bookkeeping after a read from a pack: a bad record is noted (and re-fetched by the caller),
   *  the pack's mtime shows its use (gc). */
  private packedRead(oid: Oid, loc: PackLoc, o: StoredObject | null): StoredObject | null {
    if (!o) {
      this.bad.add(oid)
      this.onCorrupt?.(oid)
      return null
    }
    const pack = loc.pack
    const last = this.packTouched.get(pack.name) ?? 0
    if (Date.now() - last > TOUCH_AFTER_MS) {
      this.packTouched.set(pack.name, Date.now())
      const now = new Date()
      fsp.utimes(pack.dataPath, now, now).catch(() => {})
    }
    return o
  }

  /** Writes many verified objects: one pack for a batch, loose files for a handful. */
  async writeMany(objs: { oid: Oid; type: ObjectType; body: Uint8Array }[]): Promise<void> {
    if (objs.length >= 8) {
      await this.packs.write(objs)
      for (const o of objs) this.bad.delete(o.oid)
      return
    }
    await Promise.all(objs.map((o) => this.write(o.oid, o.type, o.body)))
  }

  /** True when this process found the stored copy of `oid` corrupt (a good copy written since wins). */
  knownCorrupt(oid: Oid): boolean {
    return this.bad.has(oid)
  }

  pathOf(oid: Oid): string {
    return join(this.dir, oid.slice(0, 2), oid.slice(2))
  }

  async has(oid: Oid): Promise<boolean> {
    if (await this.locate(oid, false)) return true
    try {
      await fsp.access(this.pathOf(oid))
      return true
    } catch {
      return (await this.locate(oid, true)) !== null
    }
  }

  /**
   * `has` for many ids: the pack list is re-read once, not once per id missing from it (with
   * `within`, only when the last list is older than that many ms: PackSet.refresh).
   */
  async hasMany(oids: Oid[], options: { within?: number } = {}): Promise<boolean[]> {
    await this.packs.refresh(options)
    const out = oids.map((oid) => !this.bad.has(oid) && this.packs.locate(oid) !== null)
    const candidates: number[] = []
    out.forEach((inPack, i) => inPack || candidates.push(i))
    if (candidates.length === 0) return out
    // Only ids whose fan-out directory exists can be loose (most fetches go to packs).
    const subs = await this.fanOut(options.within ?? 0)
    const loose = candidates.filter((i) => subs.has(oids[i].slice(0, 2)))
    if (loose.length > 512) {
      // Many ids: list the fan-out directories they fall in (at most 256) instead of one access each.
      const dirs = new Map<string, Promise<Set<string>>>()
      for (const i of loose) {
        const sub = oids[i].slice(0, 2)
        if (!dirs.has(sub)) dirs.set(sub, fsp.readdir(join(this.dir, sub)).then((names) => new Set(names), () => new Set<string>()))
      }
      for (const i of loose) out[i] = (await dirs.get(oids[i].slice(0, 2))!).has(oids[i].slice(2))
      return out
    }
    // Bounded: never thousands of files at once.
    for (let k = 0; k < loose.length; k += 256) {
      const part = loose.slice(k, k + 256)
      const found = await Promise.all(part.map((i) => fsp.access(this.pathOf(oids[i])).then(() => true, () => false)))
      part.forEach((i, j) => (out[i] = found[j]))
    }
    return out
  }

  /** The names in the object directory (its fan-out directories), listed again when older than `within` ms. */
  private async fanOut(within: number): Promise<Set<string>> {
    const now = performance.now()
    if (this.listed && now - this.listed.at < within) return this.listed.names
    const names = new Set(await fsp.readdir(this.dir).catch(() => [] as string[]))
    this.listed = { at: now, names }
    return names
  }

  /**
   * The object, or null when absent or corrupt (a corrupt file is removed so it gets re-fetched).
   * Absent means not found in a pack list up to LIST_FRESH_MS old: a reader that misses goes on to
   * fetch, and the fetch looks again before asking anybody.
   */
  async read(oid: Oid): Promise<StoredObject | null> {
    const loc = this.bad.has(oid) ? null : this.packs.locate(oid)
    if (loc) {
      const o = await this.readPacked(oid, false, loc)
      if (o) return o
    }
    const p = this.pathOf(oid)
    let fh: fsp.FileHandle
    try {
      fh = await fsp.open(p, 'r')
    } catch {
      return this.readPacked(oid, LIST_FRESH_MS)
    }
    let buf: Buffer
    let mtimeMs: number
    try {
      const st = await fh.stat()
      mtimeMs = st.mtimeMs
      buf = Buffer.allocUnsafe(st.size)
      let off = 0
      while (off < st.size) {
        const { bytesRead } = await fh.read(buf, off, st.size - off, off)
        if (bytesRead === 0) break
        off += bytesRead
      }
      buf = buf.subarray(0, off)
    } finally {
      await fh.close()
    }
    const o = this.verify(buf, oid)
    if (!o) {
      await fsp.rm(p, { force: true })
      this.onCorrupt?.(oid)
      return null
    }
    if (Date.now() - mtimeMs > TOUCH_AFTER_MS) {
      const now = new Date()
      fsp.utimes(p, now, now).catch(() => {})
    }
    return o
  }

  /**
   * `size` for many ids: the pack list is re-read once, and loose files are tried only where their
   * fan-out directory exists (not a failed open plus a pack-directory stat per id).
   */
  async sizeMany(oids: Oid[]): Promise<({ type: ObjectType; size: number } | null)[]> {
    await this.packs.refresh({ within: LIST_FRESH_MS })
    const subs = await this.fanOut(LIST_FRESH_MS)
    const out: ({ type: ObjectType; size: number } | null)[] = new Array(oids.length).fill(null)
    // Once a few hundred small fetches were stored loose, every fan-out directory exists: a failed
    // open per id then cost a walk of 97,000 sizes ~1.9 s of CPU. Many ids list their directories.
    const located = oids.map((oid) => (this.bad.has(oid) ? null : this.packs.locate(oid)))
    const listed = new Map<string, Set<string>>()
    if (oids.length > 64) {
      const wanted = new Set(oids.filter((o, i) => !located[i] && subs.has(o.slice(0, 2))).map((o) => o.slice(0, 2)))
      await Promise.all([...wanted].map(async (sub) => listed.set(sub, new Set(await fsp.readdir(join(this.dir, sub)).catch(() => [])))))
    }
    // Only ids found somewhere cost a read (a blobless cache finds none of a commit's blobs), at
    // most 256 at once: never thousands of files open.
    const found: number[] = []
    oids.forEach((oid, i) => {
      const sub = oid.slice(0, 2)
      if (located[i] || (subs.has(sub) && (listed.get(sub)?.has(oid.slice(2)) ?? oids.length <= 64))) found.push(i)
    })
    for (let k = 0; k < found.length; k += 256) {
      await Promise.all(
        found.slice(k, k + 256).map(async (i) => {
          const oid = oids[i]
          const loc = located[i]
          if (loc) {
            const head = await loc.pack.read(loc.offset, Math.min(40, loc.length)).catch(() => null)
            const h = head && parseHeader(head)
            if (h && h.start + h.size === loc.length) return void (out[i] = { type: h.type, size: h.size })
          }
          out[i] = await this.size(oid, false)
        }),
      )
    }
    return out
  }

  /** Size from the header (and the file length agreeing with it), without reading the body. */
  async size(oid: Oid, rescan = true): Promise<{ type: ObjectType; size: number } | null> {
    let fh: fsp.FileHandle
    try {
      fh = await fsp.open(this.pathOf(oid), 'r')
    } catch {
      const loc = await this.locate(oid, rescan)
      if (!loc) return null
      const head = await loc.pack.read(loc.offset, Math.min(40, loc.length)).catch(() => null)
      const h = head && parseHeader(head)
      return h && h.start + h.size === loc.length ? { type: h.type, size: h.size } : null
    }
    try {
      const buf = Buffer.alloc(40)
      const { bytesRead } = await fh.read(buf, 0, 40, 0)
      const h = parseHeader(buf.subarray(0, bytesRead))
      if (!h) return null
      const st = await fh.stat()
      return st.size === h.start + h.size ? { type: h.type, size: h.size } : null
    } finally {
      await fh.close()
    }
  }

  /** Writes an object whose id the caller has verified. Atomic; a no-op when already present. */
  async write(oid: Oid, type: ObjectType, body: Uint8Array): Promise<void> {
    const sub = oid.slice(0, 2)
    const final = this.pathOf(oid)
    if (!this.made.has(sub)) {
      await fsp.mkdir(join(this.dir, sub), { recursive: true })
      this.made.add(sub)
      this.listed?.names.add(sub)
    }
    const tmp = join(this.dir, 'tmp', `${oid}.${process.pid}.${randomBytes(4).toString('hex')}`)
    const fh = await fsp.open(tmp, 'w')
    try {
      await fh.writev([Buffer.from(`${type} ${body.length}\0`, 'latin1'), body])
    } finally {
      await fh.close()
    }
    try {
      await fsp.rename(tmp, final)
    } catch (err) {
      await fsp.rm(tmp, { force: true })
      throw err
    }
  }

  /** Removes a loose object, or a whole pack given as `pack:<name>` (as listed by `list`). */
  async remove(id: string): Promise<void> {
    if (id.startsWith('pack:')) return this.packs.remove(id.slice(5))
    await fsp.rm(this.pathOf(id), { force: true })
  }

  async close(): Promise<void> {
    await this.packs.close()
  }

  /** Stored ids (packed or loose) that start with the hex digits `prefix` (at least 2). */
  async withPrefix(prefix: string): Promise<Oid[]> {
    await this.packs.refresh()
    const found = new Set<Oid>()
    for (const p of this.packs.all()) for (const oid of p.withPrefix(prefix)) found.add(oid)
    const names = await fsp.readdir(join(this.dir, prefix.slice(0, 2))).catch(() => [] as string[])
    for (const name of names) if (/^[0-9a-f]{38}$/.test(name) && name.startsWith(prefix.slice(2))) found.add(prefix.slice(0, 2) + name)
    return [...found].sort()
  }

  /** Every loose object and every pack (`pack:<name>`, with its ids) with bytes and last use (mtime). */
  async list(): Promise<{ oid: string; bytes: number; usedMs: number; oids?: Oid[] }[]> {
    const out: { oid: string; bytes: number; usedMs: number; oids?: Oid[] }[] = []
    await this.packs.refresh()
    for (const p of this.packs.all()) {
      const st = await fsp.stat(p.dataPath).catch(() => null)
      if (st) out.push({ oid: 'pack:' + p.name, bytes: st.size + p.idx.length, usedMs: st.mtimeMs, oids: p.oids() })
    }
    let subs: string[]
    try {
      subs = await fsp.readdir(this.dir)
    } catch {
      return out
    }
    for (const sub of subs) {
      if (!/^[0-9a-f]{2}$/.test(sub)) continue
      for (const name of await fsp.readdir(join(this.dir, sub))) {
        try {
          const st = await fsp.stat(join(this.dir, sub, name))
          out.push({ oid: sub + name, bytes: st.size, usedMs: st.mtimeMs })
        } catch {
          /* removed meanwhile */
        }
      }
    }
    return out
  }
}
