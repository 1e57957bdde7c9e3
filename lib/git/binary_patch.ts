// Git's binary patch format (what `git diff --binary` prints and `git apply` reads):
//
//   GIT binary patch
//   literal <size>            the new contents (forward hunk) …
//   <lines of base85>         … zlib-deflated, 52 bytes per line, first char = byte count (A-Z 1-26, a-z 27-52)
//   <empty line>
//   literal <size>            the old contents (reverse hunk, lets `git apply -R` work)
//   <lines>
//   <empty line>
//
// A hunk may also be `delta <size>`: a Git delta against the other side (lib/git/delta.ts reads
// them); whichever of literal and delta deflates smaller is written, as Git does.
import { deflateSync } from 'node:zlib'
import { createDelta, MAX_DELTA_SIZE } from './delta_create.ts'

const EN85 = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz!#$%&()*+-;<=>?@^_`{|}~'

/** Git's base85: each group of 4 bytes (the last one zero-padded) as 5 digits, most significant first. */
export function encode85(data: Uint8Array): string {
  let out = ''
  for (let i = 0; i < data.length; i += 4) {
    let acc = 0
    for (let k = 0; k < 4; k++) acc = acc * 256 + (i + k < data.length ? data[i + k] : 0)
    let group = ''
    for (let k = 0; k < 5; k++) {
      group = EN85[acc % 85] + group
      acc = Math.floor(acc / 85)
    }
    out += group
  }
  return out
}

function hunkBody(deflated: Uint8Array): string {
  let out = ''
  for (let i = 0; i < deflated.length; i += 52) {
    const line = deflated.subarray(i, Math.min(i + 52, deflated.length))
    const n = line.length
    out += (n <= 26 ? String.fromCharCode(64 + n) : String.fromCharCode(96 + n - 26)) + encode85(line) + '\n'
  }
  return out + '\n'
}

/** One hunk turning `from` into `to`: a delta when that deflates smaller, else the literal `to`. */
function hunk(from: Uint8Array, to: Uint8Array): string {
  const literal = deflateSync(to)
  if (from.length > 0 && to.length > 0 && from.length <= MAX_DELTA_SIZE && to.length <= MAX_DELTA_SIZE) {
    const delta = createDelta(from, to)
    const packed = deflateSync(delta)
    if (packed.length < literal.length) return `delta ${delta.length}\n` + hunkBody(packed)
  }
  return `literal ${to.length}\n` + hunkBody(literal)
}

/** The `GIT binary patch` section for a change from `oldBytes` to `newBytes` (empty for added/deleted). */
export function binaryPatch(oldBytes: Uint8Array, newBytes: Uint8Array): string {
  return 'GIT binary patch\n' + hunk(oldBytes, newBytes) + hunk(newBytes, oldBytes)
}
