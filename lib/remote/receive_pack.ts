// Push over smart HTTP: `git-receive-pack` (protocol v0/v1: v2 has no push). One ref update with
// report-status (side-band-64k when offered), then a pack of the objects the server lacks.
import { RemoteError } from '../errors.ts'
import { FLUSH, PktReader, pkt, pktText } from '../git/pkt_line.ts'
import { writePack } from '../git/pack_writer.ts'
import { demuxSideband } from '../git/sideband.ts'
import type { HttpClient } from './http.ts'
import type { PushRequest } from './types.ts'

const ZERO = '0'.repeat(40)

async function* once(b: Uint8Array[]): AsyncIterable<Uint8Array> {
  for (const x of b) yield x
}

export async function pushViaReceivePack(http: HttpClient, req: PushRequest): Promise<void> {
  const adv = await http.request(`${http.base}/info/refs?service=git-receive-pack`, {})
  const r = new PktReader(http.body(adv, 'the ref advertisement'), `receive-pack advertisement of ${http.describe()}`)
  let caps = new Set<string>()
  const refs = new Map<string, string>()
  for (;;) {
    const p = await r.read()
    if (!p) break
    if (p.kind !== 'data') {
      if (refs.size || caps.size) break
      continue
    }
    let line = pktText(p)
    if (line.startsWith('# service=')) continue
    const nul = line.indexOf('\0')
    if (nul >= 0) {
      caps = new Set(line.slice(nul + 1).split(' '))
      line = line.slice(0, nul)
    }
    const [oid, name] = line.split(' ')
    if (name && name !== 'capabilities^{}') refs.set(name, oid)
  }
  if (!caps.has('report-status')) throw new RemoteError('protocol', `${http.describe()} does not offer report-status for push`)
  const current = refs.get(req.ref) ?? null
  if (current !== req.oldOid) {
    throw new RemoteError(
      'stale-ref',
      `${req.ref} on ${http.describe()} moved to ${current ?? '(nothing)'} while pushing (expected ${req.oldOid ?? '(nothing)'}); fetch again and retry`,
    )
  }
  const want = ['report-status', 'agent=scorpio/0.1']
  const sideband = caps.has('side-band-64k')
  if (sideband) want.push('side-band-64k')
  if (caps.has('ofs-delta')) want.push('ofs-delta')
  const have = new Set(refs.values())
  const objects = req.objects.filter((o) => !have.has(o.oid))
  const body = [pkt(`${req.oldOid ?? ZERO} ${req.newOid} ${req.ref}\0${want.join(' ')}\n`), FLUSH, ...writePack(objects)]
  const res = await http.request(`${http.base}/git-receive-pack`, {
    method: 'POST',
    retry: false,
    headers: { 'content-type': 'application/x-git-receive-pack-request', accept: 'application/x-git-receive-pack-result' },
    body: Buffer.concat(body),
  })
  let reader = new PktReader(http.body(res, 'the push report'), `push report of ${http.describe()}`)
  if (sideband) {
    const chunks: Uint8Array[] = []
    for await (const c of demuxSideband(reader, { server: http.describe() })) chunks.push(c)
    reader = new PktReader(once(chunks), `push report of ${http.describe()}`)
  }
  const unpack = await reader.readLine()
  if (unpack !== 'unpack ok') throw new RemoteError('push-rejected', `${http.describe()} could not unpack the pushed objects: ${unpack ?? '(no report)'}`)
  for (;;) {
    const line = await reader.readLine()
    if (line === null) break
    if (line.startsWith('ng ')) {
      const reason = line.slice(4 + req.ref.length).trim()
      const nff = /non-fast-forward|fetch first/.test(reason)
      throw new RemoteError(
        nff ? 'non-fast-forward' : 'push-rejected',
        `${http.describe()} rejected the update of ${req.ref} to ${req.newOid}: ${reason}` + (nff ? ' (non-fast-forward; pull/checkout its commit first, or use --force)' : ''),
      )
    }
  }
}
