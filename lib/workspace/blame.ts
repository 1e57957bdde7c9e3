// `blame PATH`: for each line of a file at the base, the commit (first parent from the base) that
// last changed it, as `git blame --first-parent` finds it: the file's versions along the path's
// history are compared newest first, each line passed back while its older version holds it.
import { UsageError } from '../errors.ts'
import type { CommitInfo, Oid, Person } from '../store/types.ts'
import type { WorkspaceContext } from './context.ts'
import { baseEntry, pathChanges } from './history.ts'
import { diffLines, splitLines } from './line_diff.ts'

export interface BlameCommit {
  author: Person
  committer: Person
  /** First line of the message. */
  summary: string
  /** A root commit: the line may be older than the history shows (git prints `^`). */
  boundary: boolean
}

export interface BlameLine {
  /** 1-based line number in the file at the base. */
  line: number
  commit: Oid
  /** Its line number in the file as that commit left it. */
  origLine: number
  /** The line without its newline. */
  text: string
}

export interface BlameResult {
  path: string
  commits: Record<Oid, BlameCommit>
  lines: BlameLine[]
}

/** A file's entry is `mode oid`; blame reads regular files and symlinks, not directories or submodules. */
function blobOf(entry: string): Oid | undefined {
  const [mode, oid] = entry.split(' ')
  return mode === '100644' || mode === '100755' || mode === '120000' ? oid : undefined
}

/** Lines of a blob, one char per byte (latin1): compared exactly, decoded as UTF-8 only for output. */
async function linesOf(ctx: WorkspaceContext, oid: Oid): Promise<string[]> {
  return splitLines(Buffer.from(await ctx.store.readBlob(oid)).toString('latin1'))
}

/** Slides each run of changed lines down over the equal lines after it (as git's diff places an
 *  ambiguous change: after the blank line or repeated line it could have gone before). */
function slideDown(changed: Uint8Array, lines: string[]): void {
  const n = lines.length
  for (let s = 0; s < n; ) {
    if (!changed[s]) {
      s++
      continue
    }
    let e = s
    while (e < n && changed[e]) e++
    while (e < n && lines[s] === lines[e]) {
      changed[s++] = 0
      changed[e++] = 1
      while (e < n && changed[e]) e++
    }
    s = e
  }
}

/** Where each line of `cur` is in `prev` (-1: added in `cur`). */
function lineMap(prev: string[], cur: string[]): Int32Array {
  const gone = new Uint8Array(prev.length)
  const added = new Uint8Array(cur.length)
  let a = 0
  let b = 0
  for (const op of diffLines(prev, cur)) {
    if (op.kind === ' ') a++, b++
    else if (op.kind === '-') gone[a++] = 1
    else added[b++] = 1
  }
  slideDown(gone, prev)
  slideDown(added, cur)
  const back = new Int32Array(cur.length).fill(-1)
  a = 0
  for (b = 0; b < cur.length; b++) {
    if (added[b]) continue
    while (gone[a]) a++
    back[b] = a++
  }
  return back
}

export async function workspaceBlame(ctx: WorkspaceContext, path: string): Promise<BlameResult> {
  const head = blobOf(await baseEntry(ctx, path))
  if (!head) throw new UsageError(`"${path}" is not a file in the last commit of the workspace (blame shows committed lines; see scorpio log ${path})`)
  // Read once the first step's versions have come: the file at the base is one of them (one request).
  let final: string[] = []
  let owner: (Oid | undefined)[] = []
  let orig: number[] = []
  /** Final lines not blamed yet, and where each is in `cur` (the version the walk is at). */
  let alive: number[] = []
  let where: number[] = []
  let cur: string[] = []
  let started = false
  const start = async () => {
    started = true
    final = cur = await linesOf(ctx, head)
    owner = final.map(() => undefined)
    orig = final.map(() => 0)
    alive = final.map((_, i) => i)
    where = final.map((_, i) => i)
  }
  const commits: Record<Oid, BlameCommit> = {}
  const own = (i: number, at: number, c: Oid, info: CommitInfo) => {
    owner[i] = c
    orig[i] = at + 1
    commits[c] ??= { author: info.author, committer: info.committer, summary: info.message.split('\n')[0], boundary: info.parents.length === 0 }
  }
  for await (const changes of pathChanges(ctx, path)) {
    // The versions this step compares, in one request where they are not stored.
    const blobs = new Set<Oid>(started ? [] : [head])
    for (const ch of changes) for (const e of [ch.entry, ch.before]) if (blobOf(e)) blobs.add(blobOf(e)!)
    await ctx.store.prefetch([...blobs])
    if (!started) await start()
    for (const ch of changes) {
      const older = blobOf(ch.before)
      if (!older) {
        alive.forEach((i, k) => own(i, where[k], ch.oid, ch.info))
        alive = []
        break
      }
      const prev = await linesOf(ctx, older)
      const back = lineMap(prev, cur)
      const keep: number[] = []
      const keepAt: number[] = []
      alive.forEach((i, k) => {
        const from = back[where[k]]
        if (from < 0) own(i, where[k], ch.oid, ch.info)
        else keep.push(i), keepAt.push(from)
      })
      alive = keep
      where = keepAt
      cur = prev
      if (!alive.length) break
    }
    if (!alive.length) break
  }
  if (!started) await start()
  const text = (l: string) => Buffer.from(l.endsWith('\n') ? l.slice(0, -1) : l, 'latin1').toString('utf8')
  return {
    path,
    commits,
    lines: final.map((l, i) => ({ line: i + 1, commit: owner[i] ?? '', origLine: orig[i], text: text(l) })),
  }
}
