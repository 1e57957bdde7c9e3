// Shared by the benchmark scripts: git http-backend in a child process (git_server_child.ts).
import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')

/** The server in a child process: our measured clients must not share its event loop. */
export async function startServer(dir: string): Promise<{ base: string; close(): Promise<void> }> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(here, 'git_server_child.ts'), dir], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
  const base = await new Promise<string>((res, rej) => {
    let out = ''
    p.stdout.on('data', (d) => {
      out += d
      const nl = out.indexOf('\n')
      if (nl >= 0) res(out.slice(0, nl).trim())
    })
    p.on('close', (c) => rej(new Error(`git server child exited (${c})`)))
  })
  return {
    base,
    close: () => new Promise<void>((res) => {
      if (p.exitCode !== null) return res()
      p.on('close', () => res())
      p.stdin.end()
      setTimeout(() => p.kill('SIGKILL'), 5000).unref()
    }),
  }
}
