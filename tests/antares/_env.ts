// Shared by the antares and job-isolation tests: root + /dev/fuse checks, an isolated XDG sandbox
// that unmounts whatever is left under it, and a served test repository (tests/mount/_cli.ts).
import { existsSync } from 'node:fs'
import { join } from 'node:path'

import { mountpoints } from '../mount/_cli.ts'

export { serveRepo, sandbox, type Sandbox, type Served } from '../mount/_cli.ts'

/** Fails (never skips) when the machine cannot run real mounts. */
export function requireFuseOnly(): void {
  if (process.getuid?.() !== 0) throw new Error('these tests mount for real and need root (run as root)')
  if (!existsSync('/dev/fuse')) throw new Error('these tests need /dev/fuse (load the fuse module)')
}

export function isMounted(dir: string): boolean {
  return mountpoints().includes(dir)
}


import { spawn, type ChildProcess } from 'node:child_process'
import { resolve } from 'node:path'

/** How tests run the CLI from source: `node --import tsx cli/main.ts ...` (no build needed). tsx by
 *  its resolved location: a test running the CLI from a temporary directory would not find it. */
export const CLI_FROM_SOURCE = [process.execPath, '--import', import.meta.resolve('tsx'), resolve('cli/main.ts')]

export interface CliServer {
  url: string
  child: ChildProcess
  stderr(): string
  /** Sends `signal` (default SIGTERM) and resolves with the exit code (-1 for a signal death). */
  stop(signal?: NodeJS.Signals): Promise<number>
}

/** Starts `scorpio antares serve ARGS` and resolves once it printed `listening <url>`. */
export async function startAntaresCli(args: string[], env: NodeJS.ProcessEnv, command = CLI_FROM_SOURCE): Promise<CliServer> {
  const [cmd, ...pre] = command
  const child = spawn(cmd, [...pre, 'antares', 'serve', ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.on('data', (d) => (out += d))
  child.stderr!.on('data', (d) => (err += d))
  const exited = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)))
  const end = Date.now() + 120_000
  for (;;) {
    const m = out.match(/^listening (\S+)\n/m)
    if (m) {
      return {
        url: m[1],
        child,
        stderr: () => err,
        async stop(signal: NodeJS.Signals = 'SIGTERM') {
          if (child.exitCode === null && child.signalCode === null) child.kill(signal)
          return exited
        },
      }
    }
    if (child.exitCode !== null) throw new Error(`antares serve exited ${child.exitCode}: ${err.trim()}`)
    if (Date.now() > end) {
      child.kill('SIGKILL')
      throw new Error(`antares serve never printed its listening line: ${err.trim()}`)
    }
    await new Promise((r) => setTimeout(r, 20))
  }
}

export async function api(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  })
  const text = await res.text()
  return { status: res.status, body: text ? JSON.parse(text) : undefined }
}

import { readdirSync, statSync } from 'node:fs'

function newestMtime(dir: string): number {
  let newest = 0
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    const st = statSync(p)
    newest = Math.max(newest, st.isDirectory() ? newestMtime(p) : st.mtimeMs)
  }
  return newest
}

/** The built bundle when it is newer than every source file, else the CLI from source. */
export function cliCommand(): string[] {
  const bundle = resolve('dist/scorpio.mjs')
  try {
    const built = statSync(bundle).mtimeMs
    if (built > Math.max(newestMtime(resolve('cli')), newestMtime(resolve('lib')))) return [process.execPath, bundle]
  } catch {
    // not built
  }
  return CLI_FROM_SOURCE
}

import { runToEnd, type RunResult } from '../helpers/run.ts'
export type { RunResult }

/** Runs the CLI to completion without blocking this process (its git server must keep answering). */
export function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; command?: string[]; timeoutMs?: number } = {}): Promise<RunResult> {
  const [cmd, ...pre] = options.command ?? cliCommand()
  return runToEnd(cmd, [...pre, ...args], { env: options.env, cwd: options.cwd, timeoutMs: options.timeoutMs ?? 120_000 })
}

/** The git server counts a reply's bytes when its CGI exits: wait until the counters stop moving. */
export async function settle(server: { bytesSent: number; requests: number }): Promise<void> {
  let last = -1
  while (last !== server.bytesSent + server.requests) {
    last = server.bytesSent + server.requests
    await new Promise((r) => setTimeout(r, 200))
  }
}
