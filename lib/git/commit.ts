// Commit and tag objects: header lines, a blank line, the message.
import { IntegrityError } from '../errors.ts'
import type { CommitInfo, Oid, Person } from '../store/types.ts'

const dec = new TextDecoder()
const enc = new TextEncoder()

export function parsePerson(s: string): Person {
  const m = /^(.*?) <(.*)> (-?\d+) ([+-])(\d\d)(\d\d)$/.exec(s)
  if (!m) throw new IntegrityError(`Malformed person line "${s.slice(0, 80)}"`)
  const off = (Number(m[5]) * 60 + Number(m[6])) * (m[4] === '-' ? -1 : 1)
  return { name: m[1], email: m[2], timestamp: Number(m[3]), timezoneOffset: off }
}

export function formatPerson(p: Person): string {
  const sign = p.timezoneOffset < 0 || Object.is(p.timezoneOffset, -0) ? '-' : '+'
  const a = Math.abs(p.timezoneOffset)
  const tz = `${sign}${String(Math.floor(a / 60)).padStart(2, '0')}${String(a % 60).padStart(2, '0')}`
  return `${p.name} <${p.email}> ${p.timestamp} ${tz}`
}

function splitHeaders(body: Uint8Array, oid: string): { headers: [string, string][]; message: string } {
  const text = dec.decode(body)
  const blank = text.indexOf('\n\n')
  const head = blank < 0 ? text : text.slice(0, blank)
  const message = blank < 0 ? '' : text.slice(blank + 2)
  const headers: [string, string][] = []
  for (const line of head.split('\n')) {
    if (line.startsWith(' ') && headers.length) {
      headers[headers.length - 1][1] += '\n' + line.slice(1) // continuation (gpgsig)
      continue
    }
    const sp = line.indexOf(' ')
    if (sp < 0) throw new IntegrityError(`Object ${oid} has a malformed header line`)
    headers.push([line.slice(0, sp), line.slice(sp + 1)])
  }
  return { headers, message }
}

export function parseCommit(body: Uint8Array, oid: Oid): CommitInfo {
  const { headers, message } = splitHeaders(body, oid)
  let tree = ''
  const parents: Oid[] = []
  let author: Person | undefined
  let committer: Person | undefined
  for (const [k, v] of headers) {
    if (k === 'tree') tree = v
    else if (k === 'parent') parents.push(v)
    else if (k === 'author') author = parsePerson(v)
    else if (k === 'committer') committer = parsePerson(v)
  }
  if (!/^[0-9a-f]{40}$/.test(tree) || !author || !committer) {
    throw new IntegrityError(`Commit ${oid} is malformed (missing tree, author or committer)`)
  }
  return { oid, tree, parents, author, committer, message }
}

export function serializeCommit(c: Omit<CommitInfo, 'oid'>): Uint8Array {
  let s = `tree ${c.tree}\n`
  for (const p of c.parents) s += `parent ${p}\n`
  s += `author ${formatPerson(c.author)}\ncommitter ${formatPerson(c.committer)}\n\n${c.message}`
  return enc.encode(s)
}

export interface TagInfo {
  oid: Oid
  object: Oid
  type: string
  tag: string
  tagger?: Person
  message: string
}

export function parseTag(body: Uint8Array, oid: Oid): TagInfo {
  const { headers, message } = splitHeaders(body, oid)
  const h = new Map(headers)
  const object = h.get('object') ?? ''
  if (!/^[0-9a-f]{40}$/.test(object)) throw new IntegrityError(`Tag ${oid} is malformed (no object line)`)
  const tagger = h.get('tagger')
  return { oid, object, type: h.get('type') ?? 'commit', tag: h.get('tag') ?? '', tagger: tagger ? parsePerson(tagger) : undefined, message }
}

export function serializeTag(t: Omit<TagInfo, 'oid'>): Uint8Array {
  let s = `object ${t.object}\ntype ${t.type}\ntag ${t.tag}\n`
  if (t.tagger) s += `tagger ${formatPerson(t.tagger)}\n`
  return enc.encode(s + '\n' + t.message)
}
