// The few libc calls unprivileged mounting needs (socketpair, recvmsg, close, dup3), through the
// runtime's FFI: Deno.dlopen on Deno, bun:ffi on Bun. Node has no FFI: libc() resolves undefined.
import { openSync } from 'node:fs'

export interface Libc {
  socketpair(domain: number, type: number, protocol: number, fds: Int32Array): number
  recvmsg(fd: number, msg: BigUint64Array, flags: number): number
  close(fd: number): void
  /** Address of a buffer's first byte, for pointers inside structs. */
  address(buf: ArrayBufferView): bigint
  /** errno of the last failed call, as text (e.g. 'errno 9'). */
  errno(): string
  /** Makes raw fd `fd` usable with node:fs on this runtime; returns the descriptor to use. */
  adopt(fd: number): number
}

const O_CLOEXEC = 0o2000000
const LIBC = 'libc.so.6'
// A variable specifier: Node's type checker and bundler leave it alone; Bun resolves it at run time.
const BUN_FFI = 'bun:ffi'

let loaded: Promise<Libc | undefined> | undefined

/** The libc binding of this runtime, or undefined on Node. */
export function libc(): Promise<Libc | undefined> {
  loaded ??= load()
  return loaded
}

async function load(): Promise<Libc | undefined> {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any
  if (g.Deno?.dlopen) return denoLibc(g.Deno)
  if (g.Bun) return bunLibc(await import(BUN_FFI))
  return undefined
}

// deno-lint-ignore no-explicit-any
function denoLibc(Deno: any): Libc {
  const s = Deno.dlopen(LIBC, {
    socketpair: { parameters: ['i32', 'i32', 'i32', 'buffer'], result: 'i32' },
    recvmsg: { parameters: ['i32', 'buffer', 'i32'], result: 'isize' },
    close: { parameters: ['i32'], result: 'i32' },
    dup3: { parameters: ['i32', 'i32', 'i32'], result: 'i32' },
    __errno_location: { parameters: [], result: 'pointer' },
  }).symbols
  const errno = () => `errno ${new Deno.UnsafePointerView(s.__errno_location()).getInt32(0)}`
  return {
    socketpair: (d, t, p, fds) => s.socketpair(d, t, p, fds),
    recvmsg: (fd, msg, flags) => Number(s.recvmsg(fd, msg, flags)),
    close: (fd) => { s.close(fd) },
    address: (buf) => BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(buf))),
    errno,
    adopt(fd) {
      // Deno's node:fs only knows descriptors it opened: open one, then move `fd` onto its number.
      const slot = openSync('/dev/null', 'r+')
      if (s.dup3(fd, slot, O_CLOEXEC) < 0) throw new Error(`dup3 failed (${errno()})`)
      s.close(fd)
      return slot
    },
  }
}

// deno-lint-ignore no-explicit-any
function bunLibc(ffi: any): Libc {
  const s = ffi.dlopen(LIBC, {
    socketpair: { args: ['i32', 'i32', 'i32', 'ptr'], returns: 'i32' },
    recvmsg: { args: ['i32', 'ptr', 'i32'], returns: 'i64' },
    close: { args: ['i32'], returns: 'i32' },
    __errno_location: { args: [], returns: 'ptr' },
  }).symbols
  return {
    socketpair: (d, t, p, fds) => s.socketpair(d, t, p, fds),
    recvmsg: (fd, msg, flags) => Number(s.recvmsg(fd, msg, flags)),
    close: (fd) => { s.close(fd) },
    address: (buf) => BigInt(ffi.ptr(buf)),
    errno: () => `errno ${ffi.read.i32(s.__errno_location(), 0)}`,
    // Bun's node:fs works on raw descriptors.
    adopt: (fd) => fd,
  }
}
