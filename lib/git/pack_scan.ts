// The pack parser of the pack worker (pack_worker.ts): a push parser that takes a pack stream in
// chunks as they arrive, inflates and hashes every object, and hands them out in batches (two
// transferable arrays: one of numbers per object, one of bytes), so the main thread only stores
// and checks them. Delta objects are handed out as their inflated delta; the main thread resolves
// them once the pack's checksum, verified here, is known to be right (as streamPack does).
//
// `packScanModule` is one self-contained function (it refers to nothing outside itself): the
// worker runs it from its source text, which keeps it working bundled (esbuild), compiled (bun)
// and under Deno, with no second file to ship. Errors are thrown as plain ScanFailure objects
// (they cross the thread boundary as data) and turned back into RemoteError / IntegrityError by
// the main thread.

/** Numbers per object in a batch's `meta`: see ScanBatch. */
export const META = 5
/** Added to a tree's type code in `meta` when the tree was vouched for (see `vouchTree`). */
export const VOUCHED = 8

/**
 * One batch of whole objects (deltas go out one by one as ScanDelta). Object k is described by
 * meta[k*5 .. k*5+5) = [type code (1-4, + VOUCHED), pack offset, record start, body start, end]:
 * its record `type size\0body` is data[record start .. end), the records back to back from
 * data[0]; its id (the SHA-1 computed here) is ids[k*20 .. k*20+20). `subtrees` holds the ids
 * of the directory entries of the vouched trees (20 bytes each). `consumed` is the number of
 * input bytes parsed so far (for flow control).
 */
export interface ScanBatch {
  meta: Float64Array
  ids: Uint8Array
  data: Uint8Array
  subtrees: Uint8Array
  n: number
  nSubtrees: number
  consumed: number
}

/** A delta object: type code 6 (base at `baseOffset`) or 7 (base id `baseId`), its inflated delta. */
export interface ScanDelta {
  offset: number
  baseOffset: number
  baseId: Uint8Array | null
  delta: Uint8Array
}

export interface ScanFailure {
  scanFailure: true
  /** The error class the main thread throws. */
  name: 'RemoteError' | 'IntegrityError'
  code: string
  message: string
}

/** What the scanner needs from the runtime (node:crypto, node:zlib and the decoder of inflate.ts). */
export interface ScanDeps {
  inflate: {
    inflateZlib(input: Uint8Array, start: number, inputEnd: number, out: Uint8Array, outStart: number, outLen: number): number
    InflateError: new (message: string) => Error
    NEED_INPUT: symbol
  }
  /** SHA-1 of b[start .. end) as hex. */
  sha1(b: Uint8Array, start: number, end: number): string
  /** An incremental SHA-1 (the pack checksum). */
  createHash(): { update(b: Uint8Array): unknown; digest(enc: 'hex'): string }
  /**
   * Inflates one large object (node's zlib): its bytes and the compressed length used, or null
   * when `input` ends before the stream does. Throws (any error) on a malformed stream.
   */
  inflateLarge(input: Uint8Array, size: number): { body: Uint8Array; used: number } | null
}

export function packScanModule() {
  /** Objects up to this size are inflated by the decoder of inflate.ts (see pack_reader.ts). */
  const JS_INFLATE_MAX = 2048
  /** A batch is handed out once it holds this many bytes (or objects) or the input runs dry. */
  const BATCH_BYTES = 256 * 1024
  const BATCH_OBJECTS = 2048
  const SUBTREE_BYTES = 64 * 1024
  /** As the module's VOUCHED (this function may use nothing from outside itself). */
  const VOUCHED_TREE = 8
  /**
   * Batch arrays handed back by the receiver (recycle), reused: a fetch allocates as many as are
   * in flight at once, not a pair per batch (dead ArrayBuffers are collected late: memory).
   */
  const spare: { meta: Float64Array; ids: Uint8Array; data: Uint8Array; subtrees: Uint8Array }[] = []
  const TYPE_NAMES = ['', 'commit', 'tree', 'blob', 'tag']
  const HEX = new Uint8Array(128)
  for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i

  function fail(name: ScanFailure['name'], code: string, message: string): ScanFailure {
    return { scanFailure: true, name, code, message }
  }

  /** Writes `type size\0` at `at`; returns where it ends (as pack_reader.ts's writeObjectHeader). */
  function writeHeader(b: Uint8Array, typeCode: number, size: number, at: number): number {
    const t = TYPE_NAMES[typeCode]
    for (let k = 0; k < t.length; k++) b[at + k] = t.charCodeAt(k)
    let i = at + t.length
    b[i++] = 32
    const digits = String(size)
    for (let k = 0; k < digits.length; k++) b[i++] = digits.charCodeAt(k)
    b[i++] = 0
    return i
  }

  /**
   * Scans the tree `b[start .. end)` as lib/git/tree.ts's checkTree would, without its slow
   * paths: true when every entry is well formed, has a plain name (not empty, no "/", not one of
   * the dot names checkTree looks at closely) and one of the modes 40000, 100644, 100755, 120000,
   * 160000 written the usual way; then checkTree would accept it and report exactly the
   * directory entries, whose ids are appended to `out` from `at` (the receiver takes those
   * instead of running checkTree). False for anything else: the receiver then runs checkTree,
   * which decides. Returns the new end of `out`, or -1.
   */
  function vouchTree(b: Uint8Array, start: number, end: number, out: Uint8Array, at: number): number {
    let i = start
    while (i < end) {
      let sp = i
      while (sp < end && b[sp] !== 0x20) sp++
      if (sp >= end) return -1
      const m = sp - i
      let dir = false
      if (m === 5) {
        if (b[i] !== 0x34 || b[i + 1] !== 0x30 || b[i + 2] !== 0x30 || b[i + 3] !== 0x30 || b[i + 4] !== 0x30) return -1
        dir = true
      } else if (m === 6) {
        const c0 = b[i], c1 = b[i + 1], c2 = b[i + 2], c3 = b[i + 3], c4 = b[i + 4], c5 = b[i + 5]
        // 100644, 100755, 120000, 160000
        const ok =
          c0 === 0x31 &&
          ((c1 === 0x30 && c2 === 0x30 && ((c3 === 0x36 && c4 === 0x34 && c5 === 0x34) || (c3 === 0x37 && c4 === 0x35 && c5 === 0x35))) ||
            ((c1 === 0x32 || c1 === 0x36) && c2 === 0x30 && c3 === 0x30 && c4 === 0x30 && c5 === 0x30))
        if (!ok) return -1
      } else return -1
      let nul = sp + 1
      let slash = false
      for (; nul < end && b[nul] !== 0; nul++) if (b[nul] === 0x2f) slash = true
      if (nul + 21 > end) return -1
      const len = nul - sp - 1
      if (slash || len === 0 || (b[sp + 1] === 0x2e && (len <= 2 || len === 4))) return -1
      if (dir) {
        for (let k = 0; k < 20; k++) out[at + k] = b[nul + 1 + k]
        at += 20
      }
      i = nul + 21
    }
    return at
  }

  class Scan {
    /** Received input: store[0 .. len), parsed up to `pos`; `buf` is that view, `base` the stream offset of its first byte. */
    private store = new Uint8Array(0)
    private len = 0
    private buf: Uint8Array = new Uint8Array(0)
    private pos = 0
    private base = 0
    /** Bytes of buf already fed to the pack checksum. */
    private hashed = 0
    /** Bytes needed (from pos) before parsing is worth trying again (a large object's stream). */
    private need = 0
    private started = false
    count = 0
    private n = 0
    finished = false
    private hash: { update(b: Uint8Array): unknown; digest(enc: 'hex'): string }
    private meta: Float64Array = new Float64Array(0)
    private ids: Uint8Array = new Uint8Array(0)
    private data: Uint8Array = new Uint8Array(0)
    private subtrees: Uint8Array = new Uint8Array(0)
    private mUsed = 0
    private dUsed = 0
    private sUsed = 0

    constructor(
      private readonly what: string,
      private readonly deps: ScanDeps,
      private readonly emit: (batch: ScanBatch) => void,
      private readonly emitDelta: (delta: ScanDelta) => void,
    ) {
      this.hash = deps.createHash()
      this.fresh(BATCH_BYTES)
    }

    /** Takes (copies) the next chunk of the stream; parses what it can. */
    push(chunk: Uint8Array): void {
      if (this.finished || chunk.length === 0) return
      this.append(chunk)
      if (this.len - this.pos < this.need) return
      this.parse()
      this.flush()
    }

    /** The stream ended: throws unless the whole pack (checksum included) was there. */
    end(): void {
      if (this.finished) return
      this.need = 0
      this.parse()
      this.flush()
      if (!this.finished) throw this.truncated()
    }

    /** Appends to the input, first dropping what was parsed (one buffer, reused: no allocation per chunk). */
    private append(chunk: Uint8Array): void {
      if (this.pos > 0) {
        if (this.hashed < this.pos) this.hash.update(this.store.subarray(this.hashed, this.pos))
        this.store.copyWithin(0, this.pos, this.len)
        this.base += this.pos
        this.len -= this.pos
        this.pos = 0
        this.hashed = 0
      }
      if (this.len + chunk.length > this.store.length) {
        const grown = new Uint8Array(Math.max(this.store.length * 2, this.len + chunk.length, 1 << 17))
        grown.set(this.store.subarray(0, this.len))
        this.store = grown
      }
      this.store.set(chunk, this.len)
      this.len += chunk.length
      this.buf = this.store.subarray(0, this.len)
    }

    private truncated(): ScanFailure {
      return fail('RemoteError', 'truncated-pack', `Truncated pack from ${this.what} (the connection ended early); nothing was stored`)
    }

    private corrupt(why: string): ScanFailure {
      return fail('RemoteError', 'corrupt-pack', `Corrupt pack from ${this.what}: ${why}; nothing was stored`)
    }

    /** Inflates the object whose data starts at b[i] into out[at ..]: the input position after it, or -1 while more input is needed. */
    private inflateAt(b: Uint8Array, i: number, stop: number, out: Uint8Array, at: number, size: number, offset: number): number {
      const inf = this.deps.inflate
      try {
        return inf.inflateZlib(b, i, stop, out, at, size)
      } catch (err) {
        if (err === inf.NEED_INPUT) return -1
        if (err instanceof inf.InflateError) throw this.corrupt(`object at offset ${offset}: ${(err as Error).message}`)
        throw err
      }
    }

    private fresh(bytes: number): void {
      const s = bytes <= BATCH_BYTES ? spare.pop() : undefined
      this.meta = s ? s.meta : new Float64Array(BATCH_OBJECTS * 5)
      this.ids = s ? s.ids : new Uint8Array(BATCH_OBJECTS * 20)
      this.data = s ? s.data : new Uint8Array(Math.max(bytes, BATCH_BYTES))
      this.subtrees = s ? s.subtrees : new Uint8Array(SUBTREE_BYTES)
      this.mUsed = 0
      this.dUsed = 0
      this.sUsed = 0
    }

    /** Hands the objects parsed so far out (the arrays belong to the receiver from now on). */
    private flush(): void {
      if (this.mUsed === 0) return
      this.emit({ meta: this.meta, ids: this.ids, data: this.data, subtrees: this.subtrees, n: this.mUsed, nSubtrees: this.sUsed / 20, consumed: this.base + this.pos })
      this.fresh(BATCH_BYTES)
    }

    /** Room for a record of `bytes` more in the batch. */
    private reserve(bytes: number): void {
      if (this.dUsed + bytes <= this.data.length && this.mUsed < BATCH_OBJECTS) return
      this.flush()
      if (bytes > this.data.length) this.fresh(bytes)
    }

    /** Vouches for the tree data[start .. end) (see vouchTree), its subtree ids into the batch. */
    private vouch(start: number, end: number): boolean {
      // An entry takes at least 28 bytes, a directory id 20 of `subtrees`.
      const room = this.sUsed + Math.ceil((end - start) / 28) * 20
      if (room > this.subtrees.length) {
        const grown = new Uint8Array(Math.max(room, this.subtrees.length * 2))
        grown.set(this.subtrees.subarray(0, this.sUsed))
        this.subtrees = grown
      }
      const at = vouchTree(this.data, start, end, this.subtrees, this.sUsed)
      if (at < 0) return false
      this.sUsed = at
      return true
    }

    private parse(): void {
      if (!this.started) {
        if (this.buf.length - this.pos < 12) return
        const b = this.buf
        const p = this.pos
        if (b[p] !== 0x50 || b[p + 1] !== 0x41 || b[p + 2] !== 0x43 || b[p + 3] !== 0x4b) throw fail('RemoteError', 'protocol', `${this.what} did not send a pack (bad signature)`)
        const version = ((b[p + 4] << 24) | (b[p + 5] << 16) | (b[p + 6] << 8) | b[p + 7]) >>> 0
        if (version !== 2 && version !== 3) throw fail('RemoteError', 'protocol', `Unsupported pack version ${version} from ${this.what}`)
        this.count = ((b[p + 8] << 24) | (b[p + 9] << 16) | (b[p + 10] << 8) | b[p + 11]) >>> 0
        this.pos += 12
        this.started = true
      }
      while (this.n < this.count) {
        const b = this.buf
        const stop = b.length
        const start = this.pos
        if (start >= stop) return
        const offset = this.base + start
        let i = start
        let c = b[i++]
        const typeCode = (c >> 4) & 7
        let size = c & 15
        let shift = 4
        while (c & 0x80) {
          if (shift > 53) throw this.corrupt('object header runs past the data')
          if (i >= stop) return
          c = b[i++]
          size += shift <= 24 ? (c & 0x7f) << shift : (c & 0x7f) * 2 ** shift
          shift += 7
        }
        if (typeCode === 0 || typeCode === 5) throw this.corrupt(`unknown object type ${typeCode}`)
        let baseOffset = -1
        let baseIdAt = -1
        if (typeCode === 6) {
          if (i >= stop) return
          c = b[i++]
          let rel = c & 0x7f
          while (c & 0x80) {
            if (rel > 2 ** 45) throw this.corrupt('object header runs past the data')
            if (i >= stop) return
            c = b[i++]
            rel = (rel + 1) * 128 + (c & 0x7f)
          }
          baseOffset = offset - rel
          if (rel === 0 || baseOffset < 12) throw this.corrupt('delta base offset outside the pack')
        } else if (typeCode === 7) {
          if (i + 20 > stop) return
          baseIdAt = i
          i += 20
        }
        const whole = typeCode <= 4
        // A large object is inflated first: the room for it is then known, not just claimed.
        let large: { body: Uint8Array; used: number } | null = null
        if (size > JS_INFLATE_MAX) {
          try {
            large = this.deps.inflateLarge(b.subarray(i, stop), size)
          } catch (err) {
            throw this.corrupt(`object at offset ${offset}: ${(err as Error).message}`)
          }
          if (large === null) {
            // Incomplete: wait until the buffered data has doubled (or covers the whole object).
            const have = stop - start
            this.need = Math.max(have * 2, have + 65536, Math.min(size + 64, have * 8))
            return
          }
          if (large.body.length !== size) throw fail('IntegrityError', 'integrity', `Pack object inflates to ${large.body.length} bytes, header says ${size}`)
        }
        if (!whole) {
          // A delta: its own array (deltas are few, and kept by the receiver until the end).
          let delta: Uint8Array
          let next: number
          if (large) {
            delta = large.body
            next = i + large.used
          } else {
            delta = new Uint8Array(size)
            next = this.inflateAt(b, i, stop, delta, 0, size, offset)
            if (next < 0) return
          }
          this.need = 0
          this.pos = next
          this.n++
          this.emitDelta({ offset, baseOffset, baseId: baseIdAt >= 0 ? b.slice(baseIdAt, baseIdAt + 20) : null, delta })
          continue
        }
        this.reserve(32 + size)
        const data = this.data
        const at = this.dUsed
        const bodyAt = writeHeader(data, typeCode, size, at)
        let next: number
        if (large) {
          data.set(large.body, bodyAt)
          next = i + large.used
        } else {
          next = this.inflateAt(b, i, stop, data, bodyAt, size, offset)
          if (next < 0) return
        }
        this.need = 0
        this.pos = next
        const end = bodyAt + size
        const hex = this.deps.sha1(data, at, end)
        const ids = this.ids
        const idAt = this.mUsed * 20
        for (let k = 0; k < 20; k++) ids[idAt + k] = (HEX[hex.charCodeAt(2 * k)] << 4) | HEX[hex.charCodeAt(2 * k + 1)]
        const m = this.mUsed * 5
        const meta = this.meta
        meta[m] = typeCode === 2 && this.vouch(bodyAt, end) ? typeCode + VOUCHED_TREE : typeCode
        meta[m + 1] = offset
        meta[m + 2] = at
        meta[m + 3] = bodyAt
        meta[m + 4] = end
        this.mUsed++
        this.dUsed = end
        this.n++
      }
      // Every object is in: the trailer is the SHA-1 of everything before it.
      if (this.buf.length - this.pos < 20) return
      if (this.hashed < this.pos) this.hash.update(this.buf.subarray(this.hashed, this.pos))
      this.hashed = this.pos
      const expect = this.hash.digest('hex')
      let trailer = ''
      for (let k = 0; k < 20; k++) trailer += (this.buf[this.pos + k] | 256).toString(16).slice(1)
      if (trailer !== expect) throw fail('IntegrityError', 'integrity', `Pack from ${this.what} fails its checksum (${trailer} ≠ ${expect}); nothing was stored`)
      this.pos += 20
      this.finished = true
      this.store = this.buf = new Uint8Array(0)
      this.len = this.pos = 0
    }
  }

  /** Takes a batch's arrays back for reuse (the receiver is done with them). */
  function recycle(b: { meta: Float64Array; ids: Uint8Array; data: Uint8Array; subtrees: Uint8Array }): void {
    if (spare.length < 32 && b.meta.length === BATCH_OBJECTS * 5 && b.data.length === BATCH_BYTES && b.subtrees.length === SUBTREE_BYTES) {
      spare.push({ meta: b.meta, ids: b.ids, data: b.data, subtrees: b.subtrees })
    }
  }

  return { Scan, recycle, vouchTree }
}
