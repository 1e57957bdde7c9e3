// side-band-64k: each pkt-line's first byte says where its payload goes: 1 pack data,
// 2 progress (stderr text), 3 a fatal error from the server.
import { RemoteError } from '../errors.ts'
import type { PktReader } from './pkt_line.ts'

export interface SidebandOptions {
  onProgress?: (text: string) => void
  /** For error messages: which server. */
  server?: string
}

/**
 * Yields the band-1 bytes until a flush packet; band 3 throws. The bytes come as views of the
 * received chunks (a packet that straddles two chunks comes as two pieces, not joined).
 */
export async function* demuxSideband(reader: PktReader, options: SidebandOptions = {}): AsyncGenerator<Uint8Array> {
  for (;;) {
    const p = await reader.readParts()
    if (!p) throw new RemoteError('protocol', `${options.server ?? 'The server'} ended the reply before the pack was complete`)
    if (p.kind === 'flush' || p.kind === 'end') return
    if (p.kind !== 'data' || p.parts.length === 0) continue
    const parts = p.parts
    const band = parts[0][0]
    if (band === 1) {
      if (parts[0].length > 1) yield parts[0].subarray(1)
      for (let k = 1; k < parts.length; k++) yield parts[k]
      continue
    }
    const payload = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).subarray(1)
    if (band === 2) options.onProgress?.(new TextDecoder().decode(payload))
    else if (band === 3) {
      throw new RemoteError('remote-error', `${options.server ?? 'The server'} reported an error: ${new TextDecoder().decode(payload).trim()}`)
    } else throw new RemoteError('protocol', `Malformed side-band packet (band ${band})`)
  }
}
