// Batch files ("packs") of the disk object DB: a fetch of many objects is written as one data file
// `packs/<name>.pack` (records `type size\0body`, back to back) and one index `packs/<name>.idx`
// (sorted records: 20-byte id, 8-byte offset, 4-byte length), each temp + rename, the index last,
// so a reader sees a pack only once it is complete. Thousands of small files cost far more than
// one big write: this keeps the tree fetch of a 100k-file repository to two files.
import { promises as fsp } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import type { ObjectType, Oid } from './types.ts'

const REC = 32
const MAGIC = 'SCPI0001'

export interface PackLoc {
  pack: PackFile
  offset: number
  length: number
}

export class PackFile {
  fh: Promise<fsp.FileHandle> | null = null
  constructor(readonly name: string, readonly dir: string, readonly idx: Buffer) {}
  get count(): number {
    return (this.idx.length - 8) / REC
  }
  get dataPath(): string {
    return join(this.dir, this.name + '.pack')
  }
  find(key: Buffer): { offset: number; length: number } | null {
    let lo = 0
    let hi = this.count - 1
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1
      const off = 8 + mid * REC
      const c = this.idx.compare(key, 0, 20, off, off + 20)
      if (c === 0) return { offset: Number(this.idx.readBigUInt64BE(off + 20)), length: this.idx.readUInt32BE(off + 28) }
      if (c < 0) lo = mid + 1
      else hi = mid - 1
    }
    return null
  }
  oids(): Oid[] {
    const out: Oid[] = []
    for (let i = 0; i < this.count; i++) out.push(this.idx.toString('hex', 8 + i * REC, 8 + i * REC + 20))
    return out
  }
  async read(offset: number, length: number): Promise<Buffer> {
    if (!this.fh) this.fh = fsp.open(this.dataPath, 'r')
    const fh = await this.fh
    const buf = Buffer.allocUnsafe(length)
    let got = 0
    while (got < length) {
      const { bytesRead } = await fh.read(buf, got, length - got, offset + got)
      if (bytesRead === 0) break
      got += bytesRead
    }
    return buf.subarray(0, got)
  }
  async close(): Promise<void> {
    if (this.fh) await (await this.fh.catch(() => null))?.close().catch(() => {})
    this.fh = null
  }
}

export class PackSet {
  private packs = new Map<string, PackFile>()
  private scannedMtime = -1
  readonly dir: string

  constructor(dbDir: string) {
    this.dir = join(dbDir, 'packs')
  }

  /** Re-reads the list of packs when the directory changed (another process wrote one). */
  async refresh(): Promise<boolean> {
    const st = await fsp.stat(this.dir).catch(() => null)
    if (!st || st.mtimeMs === this.scannedMtime) return false
    this.scannedMtime = st.mtimeMs
    const names = new Set((await fsp.readdir(this.dir)).filter((n) => n.endsWith('.idx')).map((n) => n.slice(0, -4)))
    let changed = false
    for (const [name, p] of this.packs) {
      if (!names.has(name)) {
        await p.close()
        this.packs.delete(name)
        changed = true
      }
    }
    for (const name of names) {
      if (this.packs.has(name)) continue
      const idx = await fsp.readFile(join(this.dir, name + '.idx')).catch(() => null)
      if (!idx || idx.toString('latin1', 0, 8) !== MAGIC || (idx.length - 8) % REC !== 0) continue
      this.packs.set(name, new PackFile(name, this.dir, idx))
      changed = true
    }
    return changed
  }

  locate(oid: Oid): PackLoc | null {
    if (this.packs.size === 0) return null
    const key = Buffer.from(oid, 'hex')
    for (const p of this.packs.values()) {
      const r = p.find(key)
      if (r) return { pack: p, ...r }
    }
    return null
  }

  all(): PackFile[] {
    return [...this.packs.values()]
  }

  /** Writes objects (ids verified by the caller) as one pack + index. */
  async write(objs: { oid: Oid; type: ObjectType; body: Uint8Array }[]): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true })
    const sorted = [...new Map(objs.map((o) => [o.oid, o])).values()].sort((a, b) => (a.oid < b.oid ? -1 : a.oid > b.oid ? 1 : 0))
    const idx = Buffer.alloc(8 + sorted.length * REC)
    idx.write(MAGIC, 0, 'latin1')
    let offset = 0
    for (let i = 0; i < sorted.length; i++) {
      const o = sorted[i]
      const at = 8 + i * REC
      const len = o.type.length + 2 + String(o.body.length).length + o.body.length
      idx.write(o.oid, at, 20, 'hex')
      idx.writeUInt32BE(Math.floor(offset / 2 ** 32), at + 20)
      idx.writeUInt32BE(offset >>> 0, at + 24)
      idx.writeUInt32BE(len, at + 28)
      offset += len
    }
    const name = createHash('sha1').update(idx).digest('hex')
    const tmp = (n: string) => join(this.dir, `.${n}.${process.pid}.${randomBytes(4).toString('hex')}`)
    const tmpPack = tmp(name + '.pack')
    // Small records are copied into a staging buffer written 4 MiB at a time (building and
    // writev-ing ~100k small parts cost more than the copy); big bodies are written as they are.
    const fh = await fsp.open(tmpPack, 'w')
    try {
      const stage = Buffer.allocUnsafe(4 << 20)
      let used = 0
      const flush = async () => {
        let done = 0
        while (done < used) done += (await fh.write(stage, done, used - done)).bytesWritten
        used = 0
      }
      for (const o of sorted) {
        const head = `${o.type} ${o.body.length}\0`
        if (used + head.length + o.body.length > stage.length) await flush()
        if (head.length + o.body.length > stage.length) {
          await fh.writev([Buffer.from(head, 'latin1'), o.body])
          continue
        }
        used += stage.write(head, used, 'latin1')
        stage.set(o.body, used)
        used += o.body.length
      }
      await flush()
    } finally {
      await fh.close()
    }
    await fsp.rename(tmpPack, join(this.dir, name + '.pack'))
    const tmpIdx = tmp(name + '.idx')
    await fsp.writeFile(tmpIdx, idx)
    await fsp.rename(tmpIdx, join(this.dir, name + '.idx'))
    this.scannedMtime = -1
    await this.refresh()
  }

  async remove(name: string): Promise<void> {
    const p = this.packs.get(name)
    await p?.close()
    this.packs.delete(name)
    await fsp.rm(join(this.dir, name + '.idx'), { force: true })
    await fsp.rm(join(this.dir, name + '.pack'), { force: true })
  }

  async close(): Promise<void> {
    for (const p of this.packs.values()) await p.close()
  }
}
