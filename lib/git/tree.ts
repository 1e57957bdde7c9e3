// Tree objects: `mode SP name NUL 20-byte-id` repeated. Names that could escape or confuse a file
// system are refused on parse, so nothing above the store ever sees them.
import { IntegrityError } from '../errors.ts'
import type { Oid, TreeEntry, TreeMode } from '../store/types.ts'
import { bytesToHex, hexToBytes } from './sha1.ts'

/** Each mode as one shared string (a parsed entry would otherwise carry its own copy). */
const MODES = new Map<string, TreeMode>((['100644', '100755', '120000', '40000', '160000'] as const).map((m) => [m, m]))
const dec = new TextDecoder('utf-8', { fatal: false })
const enc = new TextEncoder()

/** Throws when `name` is not safe as one path component. */
export function checkEntryName(name: string, treeOid = '?'): void {
  let why: string | null = null
  if (name === '') why = 'an empty name'
  else if (name === '.' || name === '..') why = `the name "${name}"`
  else if (name.includes('/')) why = `a name containing "/" (${JSON.stringify(name)})`
  else if (name.includes('\0')) why = 'a name containing NUL'
  else if (name.toLowerCase() === '.git') why = `the name "${name}"`
  if (why) {
    throw new IntegrityError(
      `Tree ${treeOid} has an entry with ${why}, which could escape or confuse the file system; refusing it (the repository is malformed or the server is hostile)`,
    )
  }
}

function normalizeMode(raw: string, treeOid: string): TreeMode {
  const m = raw === '040000' ? '40000' : raw
  const known = MODES.get(m)
  if (known) return known
  // Old Git wrote group-writable files as 100664; treat like 100644 as Git does.
  if (/^100[0-7]{3}$/.test(m)) return (parseInt(m.slice(3), 8) & 0o100 ? '100755' : '100644') as TreeMode
  throw new IntegrityError(`Tree ${treeOid} has an entry with unknown mode "${raw}"`)
}

export function parseTree(body: Uint8Array, treeOid = '?'): TreeEntry[] {
  const out: TreeEntry[] = []
  let i = 0
  while (i < body.length) {
    const sp = body.indexOf(0x20, i)
    if (sp < 0) throw new IntegrityError(`Tree ${treeOid} is malformed (no space after mode)`)
    const nul = body.indexOf(0, sp + 1)
    if (nul < 0 || nul + 21 > body.length) throw new IntegrityError(`Tree ${treeOid} is malformed (truncated entry)`)
    const mode = normalizeMode(dec.decode(body.subarray(i, sp)), treeOid)
    const name = dec.decode(body.subarray(sp + 1, nul))
    checkEntryName(name, treeOid)
    out.push({ mode, name, oid: bytesToHex(body, nul + 1, nul + 21) })
    i = nul + 21
  }
  return out
}

/**
 * Checks a tree like parseTree (same refusals: malformed, unknown mode, unsafe name) without
 * building entries, and calls `onSubtree` with where the 20-byte id of every directory entry
 * is (`b[at .. at + 20)`, valid during the call). Used on the
 * ~100k trees of a commit fetch, where building entry objects dominated.
 */
export function checkTree(body: Uint8Array, treeOid: string, onSubtree: (b: Buffer, at: number) => void): void {
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.length)
  let i = 0
  while (i < b.length) {
    const sp = b.indexOf(0x20, i)
    if (sp < 0) throw new IntegrityError(`Tree ${treeOid} is malformed (no space after mode)`)
    const nul = b.indexOf(0, sp + 1)
    if (nul < 0 || nul + 21 > b.length) throw new IntegrityError(`Tree ${treeOid} is malformed (truncated entry)`)
    const len = nul - sp - 1
    const n0 = b[sp + 1]
    // Only names that are empty, dots, contain "/" or spell ".git" need the full check (which throws).
    let suspicious = len === 0 || (n0 === 0x2e && (len <= 2 || len === 4))
    for (let k = sp + 1; !suspicious && k < nul; k++) suspicious = b[k] === 0x2f
    if (suspicious) checkEntryName(dec.decode(b.subarray(sp + 1, nul)), treeOid)
    const modeLen = sp - i
    if (modeLen === 5 && b[i] === 0x34 && b[i + 1] === 0x30 && b[i + 2] === 0x30 && b[i + 3] === 0x30 && b[i + 4] === 0x30) {
      onSubtree(b, nul + 1)
    } else {
      const mode = normalizeMode(b.toString('latin1', i, sp), treeOid)
      if (mode === '40000') onSubtree(b, nul + 1)
    }
    i = nul + 21
  }
}

/** Git's tree order: byte order of names, directories compared as if they ended in "/". */
export function compareTreeEntries(a: TreeEntry, b: TreeEntry): number {
  const ka = Buffer.from(a.mode === '40000' ? a.name + '/' : a.name)
  const kb = Buffer.from(b.mode === '40000' ? b.name + '/' : b.name)
  return Buffer.compare(ka, kb)
}

export function serializeTree(entries: TreeEntry[]): Uint8Array {
  const sorted = [...entries].sort(compareTreeEntries)
  const parts: Uint8Array[] = []
  for (const e of sorted) {
    checkEntryName(e.name)
    parts.push(enc.encode(`${e.mode} ${e.name}\0`), hexToBytes(e.oid))
  }
  return Buffer.concat(parts)
}

export function isTreeMode(mode: TreeMode): boolean {
  return mode === '40000'
}

export type { Oid }
