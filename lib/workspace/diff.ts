// Git-format unified diff of workspace changes, accepted by `git apply` on a checkout of the base.
import { binaryPatch } from '../git/binary_patch.ts'
import type { ObjectStore, Oid } from '../store/types.ts'
import type { Change } from './changes.ts'
import { upperBytes } from './effective.ts'
import { diffLines, hunks, splitLines } from './line_diff.ts'

const ZERO = '0000000'
const ZERO_OID = '0'.repeat(40)

function isBinary(b: Uint8Array): boolean {
  const n = Math.min(b.length, 8000)
  for (let i = 0; i < n; i++) if (b[i] === 0) return true
  return false
}

function quotePath(p: string): string {
  // Git quotes names with special bytes in C style; plain names stay as they are.
  if (!/["\\\x00-\x1f\x7f-\uffff]/.test(p)) return p
  let out = '"'
  for (const byte of Buffer.from(p)) {
    if (byte === 0x22) out += '\\"'
    else if (byte === 0x5c) out += '\\\\'
    else if (byte === 0x0a) out += '\\n'
    else if (byte === 0x09) out += '\\t'
    else if (byte < 0x20 || byte >= 0x7f) out += '\\' + byte.toString(8).padStart(3, '0')
    else out += String.fromCharCode(byte)
  }
  return out + '"'
}

function short(oid: Oid | undefined): string {
  return oid ? oid.slice(0, 7) : ZERO
}

async function newBytes(store: ObjectStore, c: Change): Promise<Uint8Array> {
  const n = c.new!
  if (n.node && !(n.node.kind === 'file' && n.node.origin)) return upperBytes(n.node)
  return store.readBlob(n.oid)
}

function body(a: Uint8Array, b: Uint8Array): string {
  const dec = new TextDecoder()
  const ops = diffLines(splitLines(dec.decode(a)), splitLines(dec.decode(b)))
  let out = ''
  for (const h of hunks(ops)) {
    out += `@@ -${h.aStart}${h.aLen === 1 ? '' : ',' + h.aLen} +${h.bStart}${h.bLen === 1 ? '' : ',' + h.bLen} @@\n`
    for (const op of h.ops) {
      out += op.kind + op.line
      if (!op.line.endsWith('\n')) out += '\n\\ No newline at end of file\n'
    }
  }
  return out
}

/** One file's section; reads the base blob only when both sides have content. */
export async function renderChange(store: ObjectStore, c: Change): Promise<string> {
  const a = quotePath('a/' + c.path)
  const b = quotePath('b/' + c.path)
  if (c.status === 'typechange') {
    // Git shows a type change as a deletion followed by an addition.
    return (
      (await renderChange(store, { path: c.path, status: 'deleted', old: c.old })) +
      (await renderChange(store, { path: c.path, status: 'added', new: c.new }))
    )
  }
  let head = `diff --git ${a} ${b}\n`
  const oldBytes = c.old ? await store.readBlob(c.old.oid) : new Uint8Array()
  const nowBytes = c.new ? await newBytes(store, c) : new Uint8Array()
  if (c.status === 'added') head += `new file mode ${c.new!.mode}\n`
  else if (c.status === 'deleted') head += `deleted file mode ${c.old!.mode}\n`
  else if (c.old!.mode !== c.new!.mode) head += `old mode ${c.old!.mode}\nnew mode ${c.new!.mode}\n`
  const sameContent = c.old && c.new && c.old.oid === c.new.oid
  if (sameContent) return head
  const modeSuffix = c.status === 'modified' && c.old!.mode === c.new!.mode ? ` ${c.old!.mode}` : ''
  if (isBinary(oldBytes) || isBinary(nowBytes)) {
    // As `git diff --binary`: full ids (git apply checks the preimage against them), then the
    // contents themselves, so that git apply can reproduce the file.
    head += `index ${c.old?.oid ?? ZERO_OID}..${c.new?.oid ?? ZERO_OID}${modeSuffix}\n`
    return head + binaryPatch(oldBytes, nowBytes)
  }
  head += `index ${short(c.old?.oid)}..${short(c.new?.oid)}${modeSuffix}\n`
  if (oldBytes.length === 0 && nowBytes.length === 0) return head
  head += `--- ${c.old ? a : '/dev/null'}\n+++ ${c.new ? b : '/dev/null'}\n`
  return head + body(oldBytes, nowBytes)
}

/** The whole diff for `changes` (already filtered by path). */
export async function renderDiff(store: ObjectStore, changes: Change[]): Promise<string> {
  const parts: string[] = []
  for (const c of changes) parts.push(await renderChange(store, c))
  return parts.join('')
}
