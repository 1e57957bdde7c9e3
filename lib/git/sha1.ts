// SHA-1 object ids: Git hashes `<type> <size>\0<body>`.
import { createHash } from 'node:crypto'
import type { ObjectType, Oid } from '../store/types.ts'

const enc = new TextEncoder()

export const OID_RE = /^[0-9a-f]{40}$/

export function isOid(s: string): boolean {
  return OID_RE.test(s)
}

/** The loose-object header `type size\0`. */
export function objectHeader(type: ObjectType, size: number): Uint8Array {
  return enc.encode(`${type} ${size}\0`)
}

/** The id Git gives an object of this type and body. */
export function hashObject(type: ObjectType, body: Uint8Array): Oid {
  return createHash('sha1').update(`${type} ${body.length}\0`, 'latin1').update(body).digest('hex')
}

export function sha1Hex(data: Uint8Array): string {
  return createHash('sha1').update(data).digest('hex')
}

/** The value of each lower-case hex digit by character code (0–255); -1 for any other character. */
export const HEX_DIGITS = new Int8Array(256).fill(-1)
for (let c = 0; c < 16; c++) HEX_DIGITS['0123456789abcdef'.charCodeAt(c)] = c

export function hexToBytes(hex: string): Uint8Array {
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

export function bytesToHex(b: Uint8Array, start = 0, end = b.length): string {
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('hex')
}

/** The id of the empty blob; answered locally. */
export const EMPTY_BLOB_OID = 'e69de29bb2d1d6434b8b29ae775ad8c2e48c5391'
export const EMPTY_TREE_OID = '4b825dc642cb6eb9a060e54bf8d69288fbee4904'
