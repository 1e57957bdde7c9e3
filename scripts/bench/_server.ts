// Shared by the benchmark scripts: git http-backend in a child process (git_server_child.ts), which
// also tells how many requests it has served. GIT_SERVER_LOG in this process's environment reaches it.
import { spawn } from 'node:child_process'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = dirname(fileURLToPath(import.meta.url))
const root = resolve(here, '../..')

export interface BenchServer {
  /** http://127.0.0.1:PORT: a repository DIR/NAME is at `${base}/NAME`. */
  base: string
  /** Requests served so far. */
  requests(): Promise<number>
  close(): Promise<void>
}

/** The server in a child process: our measured clients must not share its event loop. */
export async function startServer(dir: string): Promise<BenchServer> {
  const p = spawn(process.execPath, ['--import', 'tsx', join(here, 'git_server_child.ts'), dir], { cwd: root, stdio: ['pipe', 'pipe', 'inherit'] })
  let buf = ''
  const waiters: { res: (line: string) => void; rej: (e: Error) => void }[] = []
  p.stdout.on('data', (d) => {
    buf += d
    for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
      const line = buf.slice(0, nl).trim()
      buf = buf.slice(nl + 1)
      waiters.shift()?.res(line)
    }
  })
  p.on('close', (c) => {
    for (const w of waiters.splice(0)) w.rej(new Error(`git server child exited (${c})`))
  })
  const next = () => new Promise<string>((res, rej) => (p.exitCode === null ? waiters.push({ res, rej }) : rej(new Error(`git server child exited (${p.exitCode})`))))
  const base = await next()
  return {
    base,
    async requests() {
      const line = next()
      p.stdin.write('requests\n')
      return Number((await line).split(' ')[1])
    },
    close: () => new Promise<void>((res) => {
      if (p.exitCode !== null) return res()
      p.on('close', () => res())
      p.stdin.end()
      setTimeout(() => p.kill('SIGKILL'), 5000).unref()
    }),
  }
}
