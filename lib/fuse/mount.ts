// Mounting and unmounting: privileged `mount -i -t fuse.X -o fd=3,...` with our /dev/fuse fd
// inherited as the child's fd 3; unprivileged via fusermount3 (fusermount.ts).
import { spawn } from 'node:child_process'
import { closeSync, existsSync, openSync, promises as fsp, writeFileSync } from 'node:fs'
import { resolve } from 'node:path'
import type { RawFileSystem } from './raw_fs.ts'
import type { FuseMount, MountOptions } from './mount_types.ts'
import { FuseSession } from './session.ts'
import { AnswerCache } from './answers.ts'
import { openDeviceChannel } from './transport.ts'
import { fusermountFd, fusermountUnmount } from './fusermount.ts'
import { fuseMountAt, parseMountInfo } from './mountinfo.ts'

/** A mount could not be set up or taken down; `message` says what to do. */
export class MountError extends Error {
  readonly code = 'mount'
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options)
    this.name = 'MountError'
  }
}

const defaultLog = (line: string) => { process.stderr.write(line + '\n') }
const isRoot = () => process.getuid?.() === 0

/** Mounts `fs` at `mountpoint` and serves it until unmounted. Resolves once the kernel finished
 *  INIT, i.e. the mount is usable. The mountpoint must be an existing empty directory (a stale
 *  mount there is cleaned first; see checkMountpoint). */
export async function mountFuse(mountpoint: string, fs: RawFileSystem, options: MountOptions = {}): Promise<FuseMount> {
  const mnt = resolve(mountpoint)
  const log = options.log ?? defaultLog
  await checkMountpoint(mnt, { log })
  let fd: number
  if (isRoot()) {
    fd = openSync('/dev/fuse', 'r+')
    try {
      await run('mount', ['-i', '-t', `fuse.${options.subtype ?? 'scorpio'}`, '-o', mountOptions(options), options.fsName ?? 'scorpio', mnt], fd)
    } catch (err) {
      closeSync(fd)
      throw new MountError(`Cannot mount at '${mnt}': ${(err as Error).message}`, { cause: err })
    }
  } else {
    try {
      fd = await fusermountFd(mnt, fuserOptions(options))
    } catch (err) {
      throw new MountError((err as Error).message, { cause: err })
    }
  }

  let initDone!: () => void
  const initialized = new Promise<void>((r) => { initDone = r })
  // With --debug every request reaches the session, which logs it.
  const answers = options.debug || options.readerAnswers === false ? undefined : new AnswerCache()
  const session = new FuseSession(fs, {
    write: (chunks) => channel.write(chunks), writeNotification: (chunks) => channel.writeAsync(chunks),
    log, debug: options.debug, writebackCache: options.writebackCache,
    onInit: () => initDone(), answers,
  })
  const channel = openDeviceChannel(fd, (req) => {
    const p = session.dispatch(req)
    if (p) p.catch((err) => log(`fuse: request failed: ${String(err)}`))
  }, { readers: options.readers, busy: () => session.pending > 0, answers,
    onError: (err) => log(`fuse: request failed: ${String(err)}`) })
  const closed = Promise.race([session.ended, channel.stopped]).then(async (why) => {
    if (typeof why === 'string' && why !== 'ENODEV' && why !== 'EOF') log(`fuse: reading /dev/fuse stopped: ${why}`)
    await session.end()
    await channel.stopped
    try { closeSync(fd) } catch {}
  })
  const ended = await Promise.race([initialized.then(() => false), closed.then(() => true)])
  if (ended) throw new MountError(`The kernel ended the FUSE session at '${mnt}' before it started`)
  // The device number from mountinfo, not from a stat of the mountpoint: that stat would be a
  // GETATTR to this very process, blocking a thread-pool thread until answered; with several
  // mounts starting at once those threads ran out before the handlers needing them (antares
  // serving 8 jobs of a 100k-file tree hung at mount time).
  const dev = await mountedDev(mnt)
  const readAheadKb = options.readAheadKb ?? 1024
  if (dev !== undefined && readAheadKb > 0 && isRoot()) {
    // The kernel caps FUSE readahead at 128 KiB through INIT; the bdi knob lifts it to max_pages.
    await fsp.writeFile(`/sys/class/bdi/0:${devMinor(dev)}/read_ahead_kb`, String(readAheadKb)).catch((err) => {
      if (options.debug) log(`fuse: cannot set read_ahead_kb: ${(err as Error).message}`)
    })
  }

  let unmounting: Promise<void> | undefined
  return {
    mountpoint: mnt,
    closed,
    unmount() {
      unmounting ??= (async () => {
        try {
          await unmountPath(mnt, { dev })
        } catch (err) {
          // Already gone (ENODEV, unmounted from outside) is fine; anything else is reported.
          if (!(await isNotMounted(mnt))) throw err
        }
        await closed
      })()
      return unmounting
    },
    notifyInvalInode: (ino, off, len) => session.notifyInvalInode(ino, off, len),
    notifyInvalEntry: (parent, name) => session.notifyInvalEntry(parent, name),
    notifyDelete: (parent, child, name) => session.notifyDelete(parent, child, name),
  }
}

function mountOptions(o: MountOptions): string {
  const uid = process.getuid?.() ?? 0
  const gid = process.getgid?.() ?? 0
  const opts = ['fd=3', 'rootmode=40000', `user_id=${uid}`, `group_id=${gid}`]
  if (o.allowOther) opts.push('allow_other')
  if (o.defaultPermissions) opts.push('default_permissions')
  if (o.readOnly) opts.push('ro')
  return opts.join(',')
}

function fuserOptions(o: MountOptions): string {
  const opts = [`fsname=${o.fsName ?? 'scorpio'}`, `subtype=${o.subtype ?? 'scorpio'}`]
  if (o.allowOther) opts.push('allow_other')
  if (o.defaultPermissions) opts.push('default_permissions')
  if (o.readOnly) opts.push('ro')
  return opts.join(',')
}

/** Runs a command; rejects with its stderr. `fd` (if given) becomes the child's fd 3. */
export function run(cmd: string, args: string[], fd?: number): Promise<string> {
  return new Promise((resolveRun, reject) => {
    const stdio: (string | number)[] = ['ignore', 'pipe', 'pipe']
    if (fd !== undefined) stdio.push(fd)
    const child = spawn(cmd, args, { stdio: stdio as never })
    let out = ''
    let errText = ''
    child.stdout!.on('data', (d) => { out += d })
    child.stderr!.on('data', (d) => { errText += d })
    child.on('error', (err) => reject(new Error(`${cmd}: ${err.message}`)))
    child.on('close', (code) => {
      if (code === 0) resolveRun(out)
      else reject(new Error(errText.trim() || `${cmd} exited with code ${code}`))
    })
  })
}

async function isNotMounted(path: string): Promise<boolean> {
  const mounts = await fsp.readFile('/proc/self/mounts', 'utf8').catch(() => '')
  const esc = path.replace(/[ \t\n\\]/g, (c) => '\\' + c.charCodeAt(0).toString(8).padStart(3, '0'))
  return !mounts.split('\n').some((l) => l.split(' ')[1] === esc)
}

/** Throws a clear MountError when `path` is missing, not a directory or not empty; cleans a
 *  stale (ENOTCONN) mount with `umount -l` and a notice through `log`. */
export async function checkMountpoint(path: string, options: { log?: (line: string) => void } = {}): Promise<void> {
  const log = options.log ?? defaultLog
  const mnt = resolve(path)
  for (let attempt = 0; ; attempt++) {
    try {
      const st = await fsp.stat(mnt)
      if (!st.isDirectory()) throw new MountError(`Mountpoint '${mnt}' is not a directory: choose an empty directory`)
      const entries = await fsp.readdir(mnt)
      if (entries.length) throw new MountError(`Mountpoint '${mnt}' is not empty (${entries.length} entries): choose an empty directory`)
      return
    } catch (err) {
      const code = (err as { code?: string }).code
      if (err instanceof MountError) throw err
      if (code === 'ENOENT') throw new MountError(`Mountpoint '${mnt}' does not exist: create it with mkdir -p '${mnt}'`)
      if (code === 'ENOTCONN' && attempt === 0) {
        log(`notice: '${mnt}' held a stale FUSE mount (transport endpoint not connected); unmounting it`)
        await unmountPath(mnt)
        continue
      }
      throw new MountError(`Mountpoint '${mnt}' is unusable: ${(err as Error).message}`, { cause: err })
    }
  }
}

/** Unmounts whatever is mounted at `path`: `umount`, falling back to a lazy `umount -l` (and
 *  aborting the FUSE connection so its server stops) when busy; `fusermount3 -u(z)` when not root. */
export async function unmountPath(path: string, options: { dev?: number } = {}): Promise<void> {
  const mnt = resolve(path)
  if (!isRoot()) return fusermountUnmount(mnt)
  try {
    await run('umount', [mnt])
    return
  } catch (err) {
    if (/not mounted|no mount point/i.test((err as Error).message)) throw err
  }
  await run('umount', ['-l', mnt])
  if (options.dev !== undefined) await abortConnection(options.dev)
}

/** The device number (as stat reports it) of the FUSE mount at `mnt`, read from mountinfo. */
async function mountedDev(mnt: string): Promise<number | undefined> {
  const text = await fsp.readFile('/proc/self/mountinfo', 'utf8').catch(() => '')
  const at = fuseMountAt(mnt, parseMountInfo(text))
  if (!at) return undefined
  const [major, minor] = at.dev.split(':').map(Number)
  // Linux's new_encode_dev, the layout stat's st_dev uses (devMinor below undoes it).
  return (minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)
}

/** Aborts FUSE connection of device `dev` through fusectl (mounting fusectl if needed). */
/** Minor number of an anonymous (major 0) device as stat reports it. */
function devMinor(dev: number): number {
  return (dev & 0xff) | ((dev >>> 12) & ~0xff)
}

async function abortConnection(dev: number): Promise<void> {
  const minor = devMinor(dev)
  const dir = '/sys/fs/fuse/connections'
  try {
    if (!existsSync(`${dir}/${minor}`)) await run('mount', ['-t', 'fusectl', 'none', dir])
    writeFileSync(`${dir}/${minor}/abort`, '1')
  } catch {
    // best effort: the lazy unmount already detached the tree
  }
}

/** Unmounts `mount` on SIGINT/SIGTERM, then exits (130/143). Returns a function removing the handlers. */
export function unmountOnSignals(mount: FuseMount, options: { signals?: NodeJS.Signals[]; log?: (line: string) => void } = {}): () => void {
  const signals = options.signals ?? ['SIGINT', 'SIGTERM']
  const log = options.log ?? defaultLog
  const handler = (sig: NodeJS.Signals) => {
    remove()
    mount.unmount().catch((err) => log(`Unmounting '${mount.mountpoint}' failed: ${(err as Error).message}`))
      .finally(() => process.exit(sig === 'SIGINT' ? 130 : 143))
  }
  const remove = () => { for (const s of signals) process.off(s, handler) }
  for (const s of signals) process.on(s, handler)
  return remove
}
