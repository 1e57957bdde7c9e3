// What users type for a commit (`scorpio checkout REV`, `scorpio mount --rev REV`): a branch, a tag,
// `HEAD`, a full or abbreviated commit id, each optionally followed by git's `~N` (N first parents
// back), `^` (first parent) and `^N` (Nth parent), e.g. `main~2`, `HEAD^`, `3f2a9c1^2`.
import { ScorpioError, UsageError } from '../errors.ts'
import type { RemoteRef } from '../remote/types.ts'
import type { ObjectStore, Oid } from './types.ts'

const FULL_ID = /^[0-9a-f]{40}$/
const SHORT_ID = /^[0-9a-f]{4,39}$/

export interface ParsedRevision {
  /** The ref name or id before any suffix. */
  name: string
  /** Parent steps in order: `[1, 1]` for `~2`, `[2]` for `^2`. */
  parents: number[]
}

export function parseRevision(rev: string): ParsedRevision {
  const m = /^(.*?)((?:[~^][0-9]*)*)$/.exec(rev)!
  if (!m[1]) throw new UsageError(`"${rev}" names no commit: give a branch, a tag, HEAD or a commit id, optionally followed by ~N or ^N`)
  const parents: number[] = []
  for (const step of m[2].match(/[~^][0-9]*/g) ?? []) {
    const n = step.length > 1 ? Number(step.slice(1)) : 1
    if (step[0] === '~') for (let i = 0; i < n; i++) parents.push(1)
    else if (n > 0) parents.push(n) // `^0` is the commit itself
  }
  return { name: m[1], parents }
}

/** The commit `rev` names. `head`: the commit `HEAD` means (a workspace's base) instead of the
 *  remote's; `named`: what the name before any suffix resolves to, when the caller already knows. */
export async function resolveRevision(store: ObjectStore, rev: string, options: { head?: Oid; named?: Oid } = {}): Promise<Oid> {
  const { name, parents } = parseRevision(rev)
  let oid = options.named ?? (await resolveName(store, name, options.head))
  // Every commit on the way, in one commits-only fetch (`deepen` reaches N generations along any parent).
  if (parents.length) await store.loadHistory?.(oid, parents.length + 1)
  for (const n of parents) {
    const info = await store.readCommit(oid)
    const next = info.parents[n - 1]
    if (!next) {
      const which = info.parents.length === 0 ? 'no parent (it is a root commit)' : `${info.parents.length} parent(s), not ${n}`
      throw new UsageError(`"${rev}" goes past the history: commit ${oid.slice(0, 12)} has ${which}`)
    }
    oid = next
  }
  return oid
}

async function resolveName(store: ObjectStore, name: string, head: Oid | undefined): Promise<Oid> {
  if ((name === 'HEAD' || name === '@') && head) return head
  if (FULL_ID.test(name)) return name
  try {
    return await store.resolveRef(name)
  } catch (err) {
    if (!(err instanceof ScorpioError) || err.code !== 'unknown-ref' || !SHORT_ID.test(name) || !store.idsWithPrefix) throw err
  }
  // An abbreviated id: the commits with that prefix among the branch and tag tips and everything
  // this cache holds (every commit a workspace showed, logged or committed).
  const commits: Oid[] = []
  for (const id of await store.idsWithPrefix(name)) {
    const isCommit = await store.readCommit(id).then(() => true, () => false)
    if (isCommit) commits.push(id)
  }
  if (commits.length === 1) return commits[0]
  if (commits.length > 1) throw new UsageError(`The abbreviated id "${name}" is ambiguous (${commits.map((c) => c.slice(0, 12)).join(', ')}); give more digits`)
  throw new UsageError(`No commit starts with "${name}" among the remote's branches and tags or in the cache; give the full 40-character id, a branch or a tag`)
}

/**
 * What a new workspace shows for `rev` (default `HEAD`, the remote's) and the branch it pushes to:
 * the branch or tag named, else the branch `HEAD` points to or one whose tip is that commit, else
 * `main`. `refs`: the remote's listing (one round trip answers both questions).
 */
export async function resolveBase(store: ObjectStore, refs: RemoteRef[], rev = 'HEAD'): Promise<{ base: Oid; ref: string }> {
  const { name } = parseRevision(rev)
  let tip: Oid | undefined
  if (!FULL_ID.test(name)) {
    for (const n of [name, `refs/heads/${name}`, `refs/tags/${name}`, `refs/${name}`]) {
      const r = refs.find((x) => x.name === n)
      if (r) {
        tip = r.peeled ?? r.oid
        break
      }
    }
  }
  const base = await resolveRevision(store, rev, { named: tip })
  if (tip && name !== 'HEAD') return { base, ref: name.replace(/^refs\/heads\//, '') }
  const head = name === 'HEAD' ? refs.find((r) => r.name === 'HEAD')?.symref : undefined
  const branch = head ?? refs.find((r) => r.name.startsWith('refs/heads/') && (r.peeled ?? r.oid) === base)?.name
  return { base, ref: branch ? branch.replace(/^refs\/heads\//, '') : 'main' }
}
