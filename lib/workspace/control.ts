// The control socket `<state>/control.sock`: while a mount process owns a workspace, commands are
// sent to it (JSON lines: one request, one reply) and it runs them with its hooks, so the live
// mount follows at once. When nothing listens, the CLI runs the same operation in-process.
import { existsSync, promises as fsp } from 'node:fs'
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { join } from 'node:path'
import { ScorpioError, UsageError, WorkspaceError } from '../errors.ts'
import type { CommitRequest, Workspace } from './workspace.ts'

export const CONTROL_SOCKET = 'control.sock'

export interface ControlRequest {
  op: string
  args?: Record<string, unknown>
}

export type ControlHandlers = Record<string, (args: Record<string, unknown>) => Promise<unknown>>

interface Reply {
  ok: boolean
  result?: unknown
  error?: { code: string; message: string; usage?: boolean }
}

export function controlSocketPath(stateDir: string): string {
  return join(stateDir, CONTROL_SOCKET)
}

function serveConnection(sock: Socket, handlers: ControlHandlers): void {
  let buf = ''
  sock.setEncoding('utf8')
  sock.on('error', () => {})
  sock.on('data', (chunk: string) => {
    buf += chunk
    let nl: number
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl)
      buf = buf.slice(nl + 1)
      void answer(line, handlers).then((reply) => sock.write(JSON.stringify(reply) + '\n'))
    }
  })
}

async function answer(line: string, handlers: ControlHandlers): Promise<Reply> {
  try {
    const req = JSON.parse(line) as ControlRequest
    const h = handlers[req.op]
    if (!h) return { ok: false, error: { code: 'unknown-op', message: `Unknown control request "${req.op}"` } }
    return { ok: true, result: await h(req.args ?? {}) }
  } catch (e) {
    const err = e as ScorpioError
    return { ok: false, error: { code: err.code ?? 'failed', message: err.message ?? String(e), usage: e instanceof UsageError } }
  }
}

/** Listens on `<stateDir>/control.sock` (replacing a stale socket file). */
export async function serveControl(stateDir: string, handlers: ControlHandlers): Promise<{ close(): Promise<void> }> {
  const path = controlSocketPath(stateDir)
  await fsp.rm(path, { force: true })
  const server: Server = createServer((sock) => serveConnection(sock, handlers))
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(path, () => resolve())
  })
  await fsp.chmod(path, 0o600).catch(() => {})
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        void fsp.rm(path, { force: true })
      }),
  }
}

/** Thrown by callControl when no live process listens (the caller then works in-process). */
export class NoControlServer extends WorkspaceError {
  constructor(stateDir: string) {
    super('no-control', `No mount process answers on "${controlSocketPath(stateDir)}"`)
  }
}

/** Sends one request to the mount process of `stateDir`; rethrows its error as a ScorpioError. */
export function callControl(stateDir: string, request: ControlRequest): Promise<unknown> {
  const path = controlSocketPath(stateDir)
  if (!existsSync(path)) return Promise.reject(new NoControlServer(stateDir))
  return new Promise((resolve, reject) => {
    const sock = createConnection(path)
    let buf = ''
    let connected = false
    sock.setEncoding('utf8')
    sock.on('connect', () => {
      connected = true
      sock.write(JSON.stringify(request) + '\n')
    })
    sock.on('data', (chunk: string) => {
      buf += chunk
      const nl = buf.indexOf('\n')
      if (nl < 0) return
      sock.end()
      let reply: Reply
      try {
        reply = JSON.parse(buf.slice(0, nl)) as Reply
      } catch {
        return reject(new WorkspaceError('control-failed', 'The mount process sent a malformed reply'))
      }
      if (reply.ok) return resolve(reply.result)
      const e = reply.error!
      reject(e.usage ? new UsageError(e.message) : new ScorpioError(e.code, e.message))
    })
    sock.on('error', (e: NodeJS.ErrnoException) => {
      if (!connected && (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK')) reject(new NoControlServer(stateDir))
      else reject(new WorkspaceError('control-failed', `Lost the mount process while it worked: ${e.message}`))
    })
    sock.on('close', () => {
      if (connected && !buf.includes('\n')) reject(new WorkspaceError('control-failed', 'The mount process closed the connection without answering'))
    })
  })
}

/** The control handlers for a workspace (what the mount process serves). */
export function workspaceHandlers(ws: Workspace): ControlHandlers {
  const str = (v: unknown) => (typeof v === 'string' ? v : undefined)
  const strs = (v: unknown) => (Array.isArray(v) ? v.map(String) : [])
  return {
    status: async () => ws.status(),
    diff: async (a) => ({ diff: await ws.diff(strs(a.paths)) }),
    commit: async (a) =>
      ws.commit({
        message: str(a.message) ?? '',
        author: str(a.author),
        user: a.user as CommitRequest['user'],
        env: a.env as CommitRequest['env'],
        identity: a.identity as CommitRequest['identity'],
      }),
    push: async (a) => ws.push({ ref: str(a.ref), force: Boolean(a.force) }),
    checkout: async (a) => ws.checkout(str(a.rev) ?? '', { force: Boolean(a.force) }),
    reset: async () => ws.resetHard(),
    restore: async (a) => ws.restore(strs(a.paths)),
    log: async (a) => ws.log({ limit: typeof a.limit === 'number' ? a.limit : undefined, path: str(a.path) }),
    blame: async (a) => ws.blame(str(a.path) ?? ''),
    ping: async () => ({ stateDir: ws.stateDir, base: ws.state.base }),
  }
}

/** Runs `request` on the workspace: through its mount process when one listens, else in-process. */
export async function runWorkspaceRequest(
  stateDir: string,
  request: ControlRequest,
  open: () => Promise<Workspace>,
): Promise<unknown> {
  try {
    return await callControl(stateDir, request)
  } catch (e) {
    if (!(e instanceof NoControlServer)) throw e
  }
  const ws = await open()
  try {
    const h = workspaceHandlers(ws)[request.op]
    if (!h) throw new WorkspaceError('unknown-op', `Unknown workspace request "${request.op}"`)
    return await h(request.args ?? {})
  } finally {
    await ws.close()
  }
}
