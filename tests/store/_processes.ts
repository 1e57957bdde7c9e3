// Shared by the store's cross-process tests: a served repository with a fresh cache directory, and
// child processes (this folder's `_*_child.ts` scripts) that open stores of that cache and print JSON.
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startGitServer, type GitServer } from '../helpers/git_server.ts'
import { makeBareRepo, type RepoFile, type TestRepo } from '../helpers/repos.ts'

const here = dirname(fileURLToPath(import.meta.url))

export interface ServedCache {
  repo: TestRepo
  server: GitServer
  /** The repository's URL at the server. */
  url: string
  /** An empty cache directory. */
  cache: string
}

/** Serves a repository of `files` and makes an empty cache directory; all removed after `body`. */
export async function withServedCache(files: RepoFile[], body: (s: ServedCache) => Promise<void>): Promise<void> {
  const repo = await makeBareRepo({ files })
  const server = await startGitServer(dirname(repo.path))
  const cache = mkdtempSync(join(tmpdir(), 'scorpio-cache-'))
  try {
    await body({ repo, server, url: server.url('repo.git'), cache })
  } finally {
    await server.close()
    rmSync(cache, { recursive: true, force: true })
    repo.cleanup()
  }
}

/**
 * Starts `node --import tsx tests/store/NAME ARGS`; `done` is its stdout parsed as JSON, or its
 * stderr as the error. With `onStderr`, the child traces (SCORPIO_TRACE) and its stderr so far is
 * passed on as it comes.
 */
export function startChild<T>(name: string, args: string[], options: { onStderr?: (text: string) => void; env?: Record<string, string> } = {}): { p: ChildProcess; done: Promise<T> } {
  const env = { ...process.env, SCORPIO_TRACE: options.onStderr ? '1' : '', ...options.env }
  const p = spawn(process.execPath, ['--import', 'tsx', join(here, name), ...args], { stdio: ['ignore', 'pipe', 'pipe'], env })
  let out = ''
  let err = ''
  p.stdout!.on('data', (d) => (out += d))
  p.stderr!.on('data', (d) => {
    err += d
    options.onStderr?.(err)
  })
  const done = new Promise<T>((resolve, reject) =>
    p.on('close', (code, sig) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`child failed (${code ?? sig}): ${err}`)))),
  )
  done.catch(() => {}) // a test that kills the child on purpose need not wait for it
  return { p, done }
}

/** `startChild(name, args).done`. */
export function runChild<T>(name: string, args: string[], options: { onStderr?: (text: string) => void; env?: Record<string, string> } = {}): Promise<T> {
  return startChild<T>(name, args, options).done
}
