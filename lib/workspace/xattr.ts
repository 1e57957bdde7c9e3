// Our private xattrs (`user.scorpio.origin`) on upper entries. Node has no xattr API, so this uses
// the `attr` package's getfattr/setfattr: ONE getfattr for a whole upper tree, so the cost stays
// proportional to the number of upper entries, not to the number of files with xattrs.
import { spawn } from 'node:child_process'
import { WorkspaceError } from '../errors.ts'
import { ORIGIN_XATTR, parseOrigin, type Origin } from '../overlay/upper_format.ts'

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') {
        reject(new WorkspaceError('no-attr-tools', `"${cmd}" is missing; install the "attr" package (apt-get install attr) to use workspace commands`))
      } else reject(e)
    })
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString() }))
  })
}

/** getfattr escapes unusual bytes in names as `\ooo`; names are raw bytes (latin1 here) → UTF-8. */
function unescapeName(s: string): string {
  const raw = s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))).replace(/\\\\/g, '\\')
  return Buffer.from(raw, 'latin1').toString('utf8')
}

/** Every `user.scorpio.origin` under `root` (recursive, symlinks not followed): absolute path → origin. */
export async function readOriginsRecursive(root: string): Promise<Map<string, Origin>> {
  const r = await run('getfattr', ['-R', '-P', '--absolute-names', '-m', '^user\\.scorpio\\.origin$', '-d', '-e', 'text', root])
  const out = new Map<string, Origin>()
  let current = ''
  for (const line of r.stdout.split('\n')) {
    if (line.startsWith('# file: ')) current = unescapeName(line.slice(8))
    else if (line.startsWith(ORIGIN_XATTR + '=')) {
      const value = line.slice(ORIGIN_XATTR.length + 1).replace(/^"|"$/g, '')
      const origin = parseOrigin(value)
      if (origin && current) out.set(current, origin)
    }
  }
  // Entries deeper than PATH_MAX are beyond getfattr (see docs/upper-format.md): not a failure.
  const errors = r.stderr.split('\n').filter((l) => l.trim() && !/File name too long/.test(l)).join('\n')
  if (r.code !== 0 && out.size === 0 && !/No such file/.test(errors) && errors.trim()) {
    throw new WorkspaceError('xattr-failed', `Cannot read xattrs under "${root}": ${errors.trim().split('\n')[0]}`)
  }
  return out
}

export async function removeOrigin(path: string): Promise<void> {
  const r = await run('setfattr', ['-h', '-x', ORIGIN_XATTR, path])
  if (r.code !== 0 && !/No such attribute|No data available/i.test(r.stderr)) {
    throw new WorkspaceError('xattr-failed', `Cannot remove ${ORIGIN_XATTR} from "${path}": ${r.stderr.trim()}`)
  }
}

export async function setOrigin(path: string, origin: Origin): Promise<void> {
  const r = await run('setfattr', ['-h', '-n', ORIGIN_XATTR, '-v', `${origin.mode} ${origin.oid}`, path])
  if (r.code !== 0) throw new WorkspaceError('xattr-failed', `Cannot set ${ORIGIN_XATTR} on "${path}": ${r.stderr.trim()}`)
}
