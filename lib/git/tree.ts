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
  // Byte loops and Buffer slices instead of indexOf + TextDecoder per field: a walk parses every
  // tree of the commit (~92k for a 100,000-file repository), and the per-call costs dominated.
  const b = Buffer.isBuffer(body) ? body : Buffer.from(body.buffer, body.byteOffset, body.byteLength)
  const end = b.length
  const out: TreeEntry[] = []
  let i = 0
  while (i < end) {
    let sp = i
    while (sp < end && b[sp] !== 0x20) sp++
    if (sp >= end) throw new IntegrityError(`Tree ${treeOid} is malformed (no space after mode)`)
    let nul = sp + 1
    let ascii = true
    let slash = false
    for (; nul < end && b[nul] !== 0; nul++) {
      const c = b[nul]
      if (c >= 0x80) ascii = false
      else if (c === 0x2f) slash = true
    }
    if (nul >= end || nul + 21 > end) throw new IntegrityError(`Tree ${treeOid} is malformed (truncated entry)`)
    const modeLen = sp - i
    let mode: TreeMode
    if (modeLen === 6 && b[i] === 0x31 && b[i + 1] === 0x30 && b[i + 2] === 0x30 && b[i + 3] === 0x36 && b[i + 4] === 0x34 && b[i + 5] === 0x34) mode = '100644'
    else if (modeLen === 5 && b[i] === 0x34 && b[i + 1] === 0x30 && b[i + 2] === 0x30 && b[i + 3] === 0x30 && b[i + 4] === 0x30) mode = '40000'
    else mode = normalizeMode(dec.decode(b.subarray(i, sp)), treeOid)
    const len = nul - sp - 1
    // ASCII decodes the same as latin1; only names that are empty, dots, contain "/" or spell
    // ".git" can fail the check (which throws), and any other name is checked in full.
    const name = ascii ? b.toString('latin1', sp + 1, nul) : dec.decode(b.subarray(sp + 1, nul))
    if (!ascii || slash || len === 0 || (b[sp + 1] === 0x2e && (len <= 2 || len === 4))) checkEntryName(name, treeOid)
    out.push({ mode, name, oid: b.toString('hex', nul + 1, nul + 21) })
    i = nul + 21
  }
  return out
}

/**
 * Checks a tree like parseTree (same refusals: malformed, unknown mode, unsafe name) without
 * building entries, and calls `onSubtree` with where the 20-byte id of every directory entry
 * is (`b[at .. at + 20)`, valid during the call). The tree is `body[start .. end)`. Used on the
 * ~100k trees of a commit fetch, where building entry objects dominated.
 */
export function checkTree(body: Uint8Array, treeOid: string, onSubtree: (b: Uint8Array, at: number) => void, start = 0, end = body.length): void {
  const b = body
  let i = start
  while (i < end) {
    // Byte loops, not indexOf: entries are a few dozen bytes, a native call each costs more.
    let sp = i
    while (sp < end && b[sp] !== 0x20) sp++
    if (sp >= end) throw new IntegrityError(`Tree ${treeOid} is malformed (no space after mode)`)
    let nul = sp + 1
    let slash = false
    for (; nul < end && b[nul] !== 0; nul++) if (b[nul] === 0x2f) slash = true
    if (nul >= end || nul + 21 > end) throw new IntegrityError(`Tree ${treeOid} is malformed (truncated entry)`)
    const len = nul - sp - 1
    // Only names that are empty, dots, contain "/" or spell ".git" need the full check (which throws).
    if (slash || len === 0 || (b[sp + 1] === 0x2e && (len <= 2 || len === 4))) checkEntryName(dec.decode(b.subarray(sp + 1, nul)), treeOid)
    const modeLen = sp - i
    const m0 = b[i]
    if (modeLen === 5 && m0 === 0x34 && b[i + 1] === 0x30 && b[i + 2] === 0x30 && b[i + 3] === 0x30 && b[i + 4] === 0x30) onSubtree(b, nul + 1)
    else if (!(modeLen === 6 && m0 === 0x31 && b[i + 3] === 0x36 && b[i + 4] === 0x34 && b[i + 5] === 0x34 && b[i + 1] === 0x30 && b[i + 2] === 0x30)) {
      // Not the common 100644: the full mode check.
      const mode = normalizeMode(latin1(b, i, sp), treeOid)
      if (mode === '40000') onSubtree(b, nul + 1)
    }
    i = nul + 21
  }
}

function latin1(b: Uint8Array, start: number, end: number): string {
  let s = ''
  for (let k = start; k < end; k++) s += String.fromCharCode(b[k])
  return s
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
