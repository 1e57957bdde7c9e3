// Packfile writing for push: version 2, whole objects (no deltas), zlib, SHA-1 trailer.
import { createHash } from 'node:crypto'
import { deflateSync } from 'node:zlib'
import type { ObjectType } from '../store/types.ts'

const TYPE_CODE: Record<ObjectType, number> = { commit: 1, tree: 2, blob: 3, tag: 4 }

/** A pack entry's header: type and size as git's varint. */
export function objectHeader(type: ObjectType, size: number): Uint8Array {
  const out: number[] = []
  let c = (TYPE_CODE[type] << 4) | (size & 0x0f)
  size = Math.floor(size / 16)
  while (size > 0) {
    out.push(c | 0x80)
    c = size & 0x7f
    size = Math.floor(size / 128)
  }
  out.push(c)
  return Uint8Array.from(out)
}

/** The whole pack as chunks (header, objects, trailer); concatenate or stream them. */
export function writePack(objects: Iterable<{ type: ObjectType; body: Uint8Array }>): Uint8Array[] {
  const list = [...objects]
  const hash = createHash('sha1')
  const chunks: Uint8Array[] = []
  const push = (b: Uint8Array) => {
    hash.update(b)
    chunks.push(b)
  }
  const head = Buffer.alloc(12)
  head.write('PACK', 0, 'latin1')
  head.writeUInt32BE(2, 4)
  head.writeUInt32BE(list.length, 8)
  push(head)
  for (const o of list) {
    push(objectHeader(o.type, o.body.length))
    push(deflateSync(o.body, { level: 1 }))
  }
  chunks.push(hash.digest())
  return chunks
}
