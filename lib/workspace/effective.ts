// The effective tree a workspace shows: the upper layer on top of what lies beneath each upper
// directory (the lower tree at that path, an origin tree, or nothing when opaque). Only upper
// directories are ever opened, so everything here costs O(changes), never O(repository).
import { createHash } from 'node:crypto'
import { readFileSync, readlinkSync } from 'node:fs'
import type { Oid, TreeEntry, TreeMode } from '../store/types.ts'
import { TREE_MODE, type TreeReader } from './trees.ts'
import type { UDir, UFile, ULink } from './upper_scan.ts'

/** An entry of the effective tree: straight from Git, an upper file/symlink, or a merged upper dir. */
export type Eff =
  | { kind: 'git'; entry: TreeEntry }
  | { kind: 'upper'; node: UFile | ULink }
  | { kind: 'dir'; node: UDir; below?: Oid }

export function effMode(e: Eff): TreeMode {
  if (e.kind === 'git') return e.entry.mode
  if (e.kind === 'dir') return TREE_MODE
  if (e.node.kind === 'link') return '120000'
  return e.node.exec ? '100755' : '100644'
}

export function isTreeEff(e: Eff | undefined): boolean {
  return e !== undefined && effMode(e) === TREE_MODE
}

/** What lies beneath an upper dir: nothing if opaque, its origin tree, else the lower tree at its path. */
export function belowOf(node: UDir, lower: TreeEntry | undefined): Oid | undefined {
  if (node.opaque) return undefined
  if (node.origin) return node.origin.oid
  return lower?.mode === TREE_MODE ? lower.oid : undefined
}

/** True when an upper directory holds a file or symlink somewhere beneath it. */
export function hasContent(dir: UDir): boolean {
  for (const c of dir.children.values()) {
    if (c.kind === 'file' || c.kind === 'link') return true
    if (c.kind === 'dir' && hasContent(c)) return true
  }
  return false
}

/** Children of a tree-like effective entry. */
export async function effChildren(reader: TreeReader, e: Eff): Promise<Map<string, Eff>> {
  const out = new Map<string, Eff>()
  if (e.kind === 'git') {
    for (const [name, entry] of await reader.entries(e.entry.oid)) out.set(name, { kind: 'git', entry })
    return out
  }
  if (e.kind !== 'dir') return out
  const below = await reader.entries(e.below)
  for (const [name, entry] of below) out.set(name, { kind: 'git', entry })
  for (const [name, child] of e.node.children) {
    if (child.kind === 'whiteout') out.delete(name)
    else if (child.kind === 'dir') {
      const b = below.get(name)
      // The mount shows a submodule as an empty directory; an upper copy of it that holds no
      // files is still the submodule, not a deletion of it.
      if (b?.mode === '160000' && !hasContent(child)) continue
      out.set(name, { kind: 'dir', node: child, below: belowOf(child, b) })
    }
    else out.set(name, { kind: 'upper', node: child })
  }
  return out
}

/** Names whose effective entry may differ from `below`'s (the upper children), or all when unsure. */
export function touchedNames(e: Eff): Iterable<string> | undefined {
  return e.kind === 'dir' ? e.node.children.keys() : undefined
}

/** Blob contents of an upper file or symlink (a metacopy reads as its origin blob: caller handles). */
export async function upperBytes(node: UFile | ULink): Promise<Uint8Array> {
  if (node.kind === 'link') return new Uint8Array(readlinkSync(node.abs, { encoding: 'buffer' }))
  return new Uint8Array(readFileSync(node.abs))
}

/** Git blob id of an upper file/symlink, computed locally (a metacopy answers with its origin). */
export async function upperBlobId(node: UFile | ULink): Promise<Oid> {
  if (node.kind === 'file' && node.origin) return node.origin.oid
  const body = await upperBytes(node)
  return createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex')
}
