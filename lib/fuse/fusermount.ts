// Unprivileged mounting through fusermount3 (setuid root, Debian's fuse3): we create a unix
// socketpair, run `fusermount3 -o OPTS -- MNT` with one end as its fd 3 and `_FUSE_COMMFD=3`; it
// opens /dev/fuse, mounts, and sends the fd back over the socket (SCM_RIGHTS). Receiving it needs
// recvmsg(2): on Deno through Deno.dlopen, on Bun (and so the single binary) through bun:ffi, both
// on libc. Node has neither FFI nor recvmsg, so there it is a clear error.
import { spawn } from 'node:child_process'
import { libc, type Libc } from './libc.ts'

const AF_UNIX = 1
const SOCK_STREAM = 1
const SOCK_CLOEXEC = 0o2000000
const MSG_DONTWAIT = 0x40
const MSG_CMSG_CLOEXEC = 0x40000000
const SOL_SOCKET = 1
const SCM_RIGHTS = 1
/** struct msghdr (LP64): name, namelen(+pad), iov, iovlen, control, controllen, flags(+pad). */
const MSGHDR_WORDS = 7
/** CMSG_SPACE(sizeof(int)): a 16-byte cmsghdr plus the int, padded to 8. */
const CMSG_SPACE_INT = 24

/** Mounts `mnt` with fusermount3 and returns the /dev/fuse fd, usable with node:fs on this runtime. */
export async function fusermountFd(mnt: string, options: string): Promise<number> {
  const c = await libc()
  if (!c) {
    throw new Error(`Cannot mount '${mnt}' without root on Node.js, which cannot receive the /dev/fuse descriptor from fusermount3: run as root (e.g. sudo), or use the single binary dist/scorpio (npm run compile), which mounts unprivileged`)
  }
  const pair = new Int32Array(2)
  // Both ends close-on-exec (no other child inherits them); spawn dup2()s pair[0] onto the
  // child's fd 3, which clears the flag there.
  if (c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) !== 0) throw new Error(`Cannot mount '${mnt}': socketpair failed (${c.errno()})`)
  let fd = -1
  try {
    const { code, stderr } = await runFusermount(['-o', options, '--', mnt], pair[0])
    c.close(pair[0])
    pair[0] = -1
    if (code !== 0) throw new Error(fusermountFailure(mnt, code, stderr))
    // fusermount3 sent the fd before exiting, so it is already queued: never block here.
    fd = receiveFd(c, pair[1])
    if (fd < 0) {
      await fusermountUnmount(mnt).catch(() => {})
      throw new Error(`Cannot mount '${mnt}': fusermount3 mounted but sent no /dev/fuse descriptor (${c.errno()}); unmounted again`)
    }
  } finally {
    if (pair[0] >= 0) c.close(pair[0])
    c.close(pair[1])
  }
  return c.adopt(fd)
}

function runFusermount(args: string[], commFd: number): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('fusermount3', args, {
      stdio: ['ignore', 'ignore', 'pipe', commFd] as never,
      env: { ...process.env, _FUSE_COMMFD: '3' },
    })
    let stderr = ''
    child.stderr!.on('data', (d) => { stderr += d })
    child.on('error', (err) => reject(new Error((err as { code?: string }).code === 'ENOENT'
      ? 'Cannot mount without root: fusermount3 is not installed; install the fuse3 package (apt-get install fuse3) or run as root'
      : `fusermount3: ${err.message}`)))
    child.on('close', (code) => resolve({ code: code ?? 1, stderr: stderr.trim() }))
  })
}

function fusermountFailure(mnt: string, code: number, stderr: string): string {
  const why = stderr.replace(/\s*\n\s*/g, '; ') || `exit code ${code}`
  let hint = ''
  if (/\/dev\/fuse/.test(stderr) && /denied/i.test(stderr)) hint = ': /dev/fuse must be readable and writable by you (mode 0666 is the usual setting), or run as root'
  else if (/user_allow_other/.test(stderr)) hint = ': add the line user_allow_other to /etc/fuse.conf, or mount without --allow-other'
  else if (/permission denied|not permitted/i.test(stderr)) hint = ': the mountpoint must be a directory you own and may write to'
  return `Cannot mount '${mnt}' with fusermount3: ${why}${hint}`
}

/** recvmsg one byte plus an SCM_RIGHTS fd (close-on-exec); -1 when none arrived. */
function receiveFd(c: Libc, sock: number): number {
  const byte = new Uint8Array(1)
  const iov = new BigUint64Array(2)
  iov[0] = c.address(byte)
  iov[1] = 1n
  const control = new Uint8Array(CMSG_SPACE_INT)
  const msg = new BigUint64Array(MSGHDR_WORDS)
  msg[2] = c.address(iov)
  msg[3] = 1n
  msg[4] = c.address(control)
  msg[5] = BigInt(CMSG_SPACE_INT)
  const n = c.recvmsg(sock, msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC)
  // Keep the buffers alive across the call (their addresses are inside msg/iov).
  void byte
  if (n <= 0) return -1
  const v = new DataView(control.buffer)
  const controllen = Number(msg[5])
  if (controllen < 20 || v.getInt32(8, true) !== SOL_SOCKET || v.getInt32(12, true) !== SCM_RIGHTS) return -1
  return v.getInt32(16, true)
}

/** fusermount3 -u, then -uz (lazy) when busy. */
export function fusermountUnmount(mnt: string): Promise<void> {
  const once = (args: string[]) => new Promise<boolean>((resolve) => {
    const c = spawn('fusermount3', [...args, mnt], { stdio: 'ignore' })
    c.on('error', () => resolve(false))
    c.on('close', (code) => resolve(code === 0))
  })
  return once(['-u']).then(async (ok) => {
    if (!ok && !(await once(['-uz']))) throw new Error(`Cannot unmount '${mnt}': fusermount3 -uz failed`)
  })
}
