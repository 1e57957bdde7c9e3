// Facts by object id that one process learned, kept for every process of the cache: blob sizes the
// server told (`<db>/sizes`), what the read-ahead fetched and what was read (`<db>/ahead`).
// 28-byte records (20 id bytes, a u32 LE value, a check word) that processes only ever append, each
// batch in one O_APPEND write, so that no two writers interleave. A reader takes the records added
// since it last looked. A record whose check fails (a write cut short by a full disk or a crash, or
// the records after it) ends what is trusted: the reader puts the file aside and it is started
// afresh, so a wrong value is never read. Past its bound the file starts afresh too; `gc` removes it.
import { promises as fsp } from 'node:fs'
import { randomBytes } from 'node:crypto'
import { bytesToHex } from '../git/sha1.ts'
import { trace } from '../trace.ts'
import type { Oid } from './types.ts'

export const RECORD = 28
/** ~1.2 million records (32 MB): more sizes than a 1M-file commit needs. */
const MAX_RECORDS = 1_200_000
const SALT = 0x5c0e_9a17

/** FNV-1a over the 24 bytes of id and size, salted so that zero bytes do not check. */
function check(b: Uint8Array, at: number): number {
  let h = 0x811c9dc5 ^ SALT
  for (let i = at; i < at + 24; i++) h = Math.imul(h ^ b[i], 0x01000193)
  return h >>> 0
}

const stamp = (st: { ino: number; size: number; mtimeMs: number }) => `${st.ino}:${st.size}:${st.mtimeMs}`

export class SharedRecords {
  private generation = ''
  private offset = RECORD
  /** `stamp` of the file when it was last read to its end. */
  private readTo = ''
  private readonly maxBytes: number

  /** `found` is told every record read from the file at `path`. */
  constructor(
    readonly path: string,
    private readonly found: (oid: Oid, value: number) => void,
    maxRecords = MAX_RECORDS,
  ) {
    this.maxBytes = RECORD * maxRecords
  }

  /**
   * Tells `found` every record appended since the last call (by any process). Reads may overlap
   * (each wanting process reads at once; a queue made a burst of lookups end together and each
   * move the size read-ahead elsewhere): each reads from where the file was read up to when it
   * started, and the offset only moves forward to where a read ended. Two reads at once once
   * each advanced the offset past the same records, and the sizes appended after them were never
   * read (asked from the server again: a third of eight mounts' size queries).
   */
  async refresh(): Promise<void> {
    // The file as it was when last read to its end (same inode, size and mtime: only appends change
    // it, and a file started afresh, even on a reused inode, has another mtime): one stat instead of
    // an open, two reads and a close. Eight mounts of one cache look many times a second.
    const seen = await fsp.stat(this.path).catch(() => null)
    if (!seen || stamp(seen) === this.readTo) return
    const fh = await fsp.open(this.path, 'r').catch(() => null)
    if (!fh) return
    try {
      const st = await fh.stat()
      const head = Buffer.alloc(RECORD)
      await fh.read(head, 0, RECORD, 0)
      const generation = head.toString('hex')
      if (generation !== this.generation) (this.generation = generation), (this.offset = RECORD)
      const from = this.offset
      const end = Math.floor(st.size / RECORD) * RECORD
      if (end <= from) return void (end === from && (this.readTo = stamp(st)))
      const buf = Buffer.allocUnsafe(end - from)
      const { bytesRead } = await fh.read(buf, 0, buf.length, from)
      const dv = new DataView(buf.buffer, buf.byteOffset, bytesRead)
      let at = 0
      for (; at + RECORD <= bytesRead; at += RECORD) {
        if (dv.getUint32(at + 24, true) !== check(buf, at)) {
          await this.setAside(st.ino)
          return
        }
        this.found(bytesToHex(buf, at, at + 20), dv.getUint32(at + 20, true))
      }
      if (this.generation === generation) this.offset = Math.max(this.offset, from + at)
      if (this.offset === end) this.readTo = stamp(st)
    } finally {
      await fh.close()
    }
  }

  /** Appends records (those whose value fits 32 bits: a 4 GiB blob's size is asked again) in one write. */
  async add(records: Iterable<[Oid, number]>): Promise<void> {
    const rows = [...records].filter(([oid, s]) => oid.length === 40 && s >= 0 && s <= 0xffff_ffff)
    if (!rows.length) return
    const buf = Buffer.alloc(rows.length * RECORD)
    rows.forEach(([oid, s], k) => {
      const at = k * RECORD
      buf.write(oid, at, 20, 'hex')
      buf.writeUInt32LE(s, at + 20)
      buf.writeUInt32LE(check(buf, at), at + 24)
    })
    try {
      // A size that is not a whole number of records is most often another process's append in
      // progress (its pages land one by one), not a torn one: setting the file aside then threw away
      // every size eight mounts had shared. A torn tail is found by the readers' checks instead.
      const st = await fsp.stat(this.path).catch(() => null)
      if (st && st.size + buf.length > this.maxBytes) await this.setAside(st.ino)
      if (!st || st.size + buf.length > this.maxBytes) await this.create()
      await fsp.appendFile(this.path, buf)
    } catch {
      // Sharing saves requests; failing to (full disk, read-only cache) costs only those.
    }
  }

  /** A new file with its generation record, put in place only if there is none (link fails then). */
  private async create(): Promise<void> {
    const tmp = `${this.path}.new.${process.pid}.${randomBytes(4).toString('hex')}`
    await fsp.writeFile(tmp, randomBytes(RECORD))
    await fsp.link(tmp, this.path).catch((e: NodeJS.ErrnoException) => {
      if (e.code !== 'EEXIST') throw e
    })
    await fsp.rm(tmp, { force: true })
  }

  /** Moves the file out of the way (when it is still the one that was read) and removes it. */
  private async setAside(ino: number): Promise<void> {
    const st = await fsp.stat(this.path).catch(() => null)
    if (!st || st.ino !== ino) return
    const aside = `${this.path}.old.${process.pid}.${randomBytes(4).toString('hex')}`
    trace(`store: the shared file ${this.path} (${st.size} bytes) is set aside and started afresh`)
    await fsp.rename(this.path, aside).then(() => fsp.rm(aside, { force: true }), () => {})
  }
}
