// Where a benchmark's server bytes went: requests of the same kind summed, and the ids asked more
// than once (what single flight missed).
import { describeRequest, type GitServer } from '../../tests/helpers/git_server.ts'

/** Where the bytes went: requests of the same kind (command, filter, depth; ids bucketed) summed. */
export function breakdown(server: GitServer): string {
  const kinds = new Map<string, { n: number; bytes: number; ids: number }>()
  for (const r of server.log) {
    const d = describeRequest(r)
    const ids = Number(/ids=(\d+)/.exec(d)?.[1] ?? 0)
    const k = d.replace(/ids=\d+/, ids <= 1 ? 'ids=1' : ids <= 10 ? 'ids≤10' : 'ids>10')
    const e = kinds.get(k) ?? { n: 0, bytes: 0, ids: 0 }
    e.n++
    e.bytes += r.bytes ?? 0
    e.ids += ids
    kinds.set(k, e)
  }
  // Ids asked more than once (by several processes, or again by one): what single flight missed.
  const seen = new Map<string, number>()
  for (const r of server.log) {
    const body = r.body.toString('latin1')
    const kind = /command=([\w-]+)/.exec(body)?.[1] ?? ''
    for (const m of body.matchAll(/(?:want|oid) ([0-9a-f]{40})/g)) seen.set(kind + m[1], (seen.get(kind + m[1]) ?? 0) + 1)
  }
  const again = (kind: string) => [...seen].filter(([k, n]) => k.startsWith(kind) && n > 1).reduce((t, [, n]) => t + n - 1, 0)
  const head = `    asked again: ${again('object-info')} sizes, ${again('fetch')} objects\n`
  return head + [...kinds].sort((a, b) => b[1].bytes - a[1].bytes).map(([k, e]) => `    ${(e.bytes / 1e6).toFixed(2).padStart(7)} MB ${String(e.n).padStart(5)} requests ${String(e.ids).padStart(6)} ids  ${k}`).join('\n')
}
