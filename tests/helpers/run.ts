// Running a command to completion from a test without blocking it: the process may serve a mount
// or a git server the command needs.
import { spawn } from 'node:child_process'

export interface RunResult {
  status: number | null
  stdout: string
  stderr: string
}

/** Runs `cmd args` asynchronously, collecting its output; killed (SIGKILL) after `timeoutMs`. */
export function runToEnd(cmd: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((done) => {
    const child = spawn(cmd, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs)
    child.on('close', (status) => {
      clearTimeout(timer)
      done({ status, stdout, stderr })
    })
  })
}
