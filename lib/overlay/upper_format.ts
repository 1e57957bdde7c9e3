// How the upper layer records what it knows, on disk, in a plain directory that outlives the mount.
// The workspace commands (status, commit) read exactly these conventions, so both sides import them
// from here. See docs/upper-format.md for the why.
import { promises as fsp, type Stats } from 'node:fs'
import { join } from 'node:path'

/** Name prefix of a whiteout file where mknod of a 0/0 character device is refused. */
export const WHITEOUT_PREFIX = '.wh.'
/** A file of this name inside an upper directory makes it opaque: nothing beneath shows through. */
export const OPAQUE_MARKER = '.wh..wh..opq'
/**
 * xattr on an upper file or directory naming the lower object it stands for: `<mode> <oid>`.
 * On a directory: its lower contents come from that tree (a renamed lower directory, metadata only).
 * On a regular file: a metacopy, i.e. the content is that blob until the file is first written.
 */
export const ORIGIN_XATTR = 'user.scorpio.origin'
/** Every xattr with this prefix is ours and is hidden from the user's listxattr/getxattr. */
export const PRIVATE_XATTR_PREFIX = 'user.scorpio.'
/** Names the upper layer uses for itself; never shown, never committed. */
export const UPPER_WORK_DIR = '.scorpio-work'

export function isWhiteoutStat(st: Stats): boolean {
  return st.isCharacterDevice() && st.rdev === 0
}

/** NAME_MAX of the upper file system: a name longer than it less the prefix has no `.wh.NAME` form. */
const NAME_MAX = 255

/** The `.wh.NAME` whiteout file name for `name`, or undefined when it would be too long (the
 *  0/0 character device is then the only form). */
export function whiteoutName(name: string): string | undefined {
  return Buffer.byteLength(name) + WHITEOUT_PREFIX.length > NAME_MAX ? undefined : WHITEOUT_PREFIX + name
}

/** The name a `.wh.NAME` file hides, or undefined for an ordinary name. */
export function whiteoutTarget(name: string): string | undefined {
  if (!name.startsWith(WHITEOUT_PREFIX) || name === OPAQUE_MARKER) return undefined
  const target = name.slice(WHITEOUT_PREFIX.length)
  return target.length > 0 ? target : undefined
}

/** True for names that belong to the upper layer's bookkeeping and are never user entries. */
export function isInternalName(name: string): boolean {
  return name === OPAQUE_MARKER || name === UPPER_WORK_DIR || name.startsWith(WHITEOUT_PREFIX)
}

export interface Origin {
  mode: string
  oid: string
}

export function parseOrigin(value: string | Uint8Array | undefined | null): Origin | undefined {
  if (value == null) return undefined
  const text = typeof value === 'string' ? value : new TextDecoder().decode(value)
  const m = /^(\d{5,6}) ([0-9a-f]{40})$/.exec(text.trim())
  return m ? { mode: m[1], oid: m[2] } : undefined
}

export function formatOrigin(origin: Origin): string {
  return `${origin.mode} ${origin.oid}`
}

/** Creates a whiteout for `name` in `dir`: a 0/0 character device, else a `.wh.NAME` file. */
export async function writeWhiteout(
  dir: string,
  name: string,
  mknod: (path: string) => Promise<void>,
): Promise<void> {
  try {
    await mknod(join(dir, name))
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    if (code !== 'EPERM' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw e
    await fsp.writeFile(join(dir, WHITEOUT_PREFIX + name), '')
  }
}
