// Unprivileged mounting through fusermount3: it opens /dev/fuse, mounts, and hands the fd back over
// a unix socket (SCM_RIGHTS, socket fd passed in _FUSE_COMMFD). Receiving an fd needs recvmsg(2),
// which Node cannot do without a native addon.
import { spawn } from 'node:child_process'

const HOW = 'run Scorpio as root (e.g. with sudo), which mounts with mount(8) directly'

/** Mounts `mnt` with fusermount3 and returns the /dev/fuse fd. */
export async function fusermountFd(mnt: string, options: string): Promise<number> {
  void options
  throw new Error(`Cannot mount '${mnt}' without root: receiving the /dev/fuse descriptor from fusermount3 is not supported on this runtime; ${HOW}`)
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
