// Status: the file-level differences between the base tree and the effective tree. Walks only
// upper directories (and, for whole deleted/replaced directories, the subtree that went away).
import type { Oid, TreeEntry, TreeMode } from '../store/types.ts'
import { effChildren, effMode, touchedNames, upperBlobId, type Eff } from './effective.ts'
import { TREE_MODE, type TreeReader } from './trees.ts'
import type { UDir, UFile, ULink } from './upper_scan.ts'
import { IgnoreRules } from './ignore.ts'

export type ChangeStatus = 'added' | 'modified' | 'deleted' | 'typechange'

export interface Change {
  path: string
  status: ChangeStatus
  /** The base side (absent for `added`). */
  old?: { mode: TreeMode; oid: Oid }
  /** The workspace side (absent for `deleted`); `node` when the bytes live in the upper layer. */
  new?: { mode: TreeMode; oid: Oid; node?: UFile | ULink }
}

function join(prefix: string, name: string): string {
  return prefix ? `${prefix}/${name}` : name
}

function isLink(mode: TreeMode): boolean {
  return mode === '120000'
}

async function newSide(e: Eff): Promise<NonNullable<Change['new']>> {
  if (e.kind === 'git') return { mode: e.entry.mode, oid: e.entry.oid }
  if (e.kind === 'upper') return { mode: effMode(e), oid: await upperBlobId(e.node), node: e.node }
  throw new Error('newSide of a directory')
}

async function allFiles(reader: TreeReader, e: Eff, path: string, out: { path: string; eff: Eff }[]): Promise<void> {
  if (effMode(e) !== TREE_MODE) {
    out.push({ path, eff: e })
    return
  }
  for (const [name, child] of await effChildren(reader, e)) await allFiles(reader, child, join(path, name), out)
}

/** Compares effective entry `now` with base entry `base` at `path`, appending file-level changes. */
export async function diffEntry(reader: TreeReader, path: string, now: Eff | undefined, base: TreeEntry | undefined, out: Change[]): Promise<void> {
  if (now?.kind === 'git' && base && now.entry.oid === base.oid && now.entry.mode === base.mode) return
  const nowTree = now !== undefined && effMode(now) === TREE_MODE
  const baseTree = base?.mode === TREE_MODE
  if (nowTree && baseTree && now!.kind === 'git') {
    // Two Git trees (checkout, or a subtree straight from below): only the entries that differ.
    for (const p of await reader.diff(now!.entry.oid, base!.oid)) {
      await diffEntry(reader, join(path, (p.a ?? p.b)!.name), p.a && { kind: 'git', entry: p.a }, p.b, out)
    }
    return
  }
  if (nowTree && baseTree) {
    const baseKids = await reader.entries(base!.oid)
    const nowKids = await effChildren(reader, now!)
    const sameBelow = now!.kind === 'dir' && now!.below === base!.oid
    const names = new Set<string>(sameBelow ? touchedNames(now!)! : [...baseKids.keys(), ...nowKids.keys()])
    for (const name of names) await diffEntry(reader, join(path, name), nowKids.get(name), baseKids.get(name), out)
    return
  }
  if (baseTree) {
    const gone: { path: string; eff: Eff }[] = []
    await allFiles(reader, { kind: 'git', entry: base! }, path, gone)
    for (const g of gone) out.push({ path: g.path, status: 'deleted', old: { mode: effMode(g.eff), oid: (g.eff as { entry: TreeEntry }).entry.oid } })
  } else if (base && !nowTree && now) {
    const n = await newSide(now)
    if (isLink(n.mode) !== isLink(base.mode) || (base.mode === '160000') !== (n.mode === '160000')) {
      out.push({ path, status: 'typechange', old: { mode: base.mode, oid: base.oid }, new: n })
    } else if (n.oid !== base.oid || n.mode !== base.mode) {
      out.push({ path, status: 'modified', old: { mode: base.mode, oid: base.oid }, new: n })
    }
    return
  } else if (base) {
    out.push({ path, status: 'deleted', old: { mode: base.mode, oid: base.oid } })
  }
  if (now) {
    const added: { path: string; eff: Eff }[] = []
    await allFiles(reader, now, path, added)
    for (const a of added) out.push({ path: a.path, status: 'added', new: await newSide(a.eff) })
  }
}

function byteCompare(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b))
}

export function rootEff(upper: UDir, baseTree: Oid): Eff {
  return { kind: 'dir', node: upper, below: upper.opaque ? undefined : upper.origin ? upper.origin.oid : baseTree }
}

/**
 * All changes between the base tree `baseTree` and the upper layer `upper` on top of it, sorted by
 * path. Untracked files Git would ignore (.gitignore, anything in a `.git` dir) are left out and,
 * when `ignored` is given, collected there (commit must leave them out too).
 */
export async function computeChanges(
  reader: TreeReader,
  baseTree: Oid,
  upper: UDir,
  ignored?: Set<string>,
  /** What lies beneath the upper layer when it is not the base tree itself (a CL layer). */
  belowTree: Oid = baseTree,
): Promise<Change[]> {
  const out: Change[] = []
  const root = rootEff(upper, belowTree)
  await diffEntry(reader, '', root, { mode: TREE_MODE, name: '', oid: baseTree }, out)
  const rules = new IgnoreRules(reader, root)
  const kept: Change[] = []
  for (const c of out) {
    if (c.status === 'added' && (await rules.ignored(c.path))) ignored?.add(c.path)
    else kept.push(c)
  }
  return kept.sort((a, b) => byteCompare(a.path, b.path))
}
