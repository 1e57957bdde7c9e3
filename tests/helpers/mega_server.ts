// A test-only stand-in for a Mega server, built from a bare repository with git plumbing: the REST
// calls of docs/mega.md over the repository's HEAD, plus its git endpoint (any
// `<path>.git/...` URL is served by git-http-backend over that repository).
import { execFile } from 'node:child_process'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { basename, dirname } from 'node:path'
import { promisify } from 'node:util'
import { readBody, runGitCgi } from './git_server.ts'

const exec = promisify(execFile)

export interface MegaServer {
  base: string
  /** CL file lists served at /api/v1/cl/{link}/files-list (set by tests). */
  cls: Map<string, { path: string; sha: string; action: string; old_path?: string }[]>
  readonly requests: number
  /** Request paths (with query), in order. */
  log: string[]
  reset(): void
  close(): Promise<void>
}

async function git(repo: string, args: string[]): Promise<Buffer> {
  const r = await exec('git', ['--git-dir', repo, ...args], { encoding: 'buffer', maxBuffer: 1 << 30 })
  return r.stdout as Buffer
}

async function tryGit(repo: string, args: string[]): Promise<Buffer | null> {
  try {
    return await git(repo, args)
  } catch {
    return null
  }
}

function spec(path: string): string {
  const p = path.replace(/^\/+|\/+$/g, '')
  return p ? `HEAD:${p}` : 'HEAD^{tree}'
}

export async function startMegaServer(repo: string): Promise<MegaServer> {
  let requests = 0
  const log: string[] = []
  const state: MegaServer = {
    base: '',
    cls: new Map(),
    get requests() {
      return requests
    },
    log,
    reset() {
      requests = 0
      log.length = 0
    },
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections?.()
      server.close(() => resolve())
    }),
  }
  const ok = (data: unknown) => JSON.stringify({ req_result: true, data, err_message: '' })
  const server = createServer(async (req, res) => {
    requests++
    log.push(req.url ?? '')
    const u = new URL(req.url ?? '/', 'http://x')
    const path = u.searchParams.get('path') ?? '/'
    const send = (status: number, body: string | Buffer, type = 'application/json') => {
      res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) })
      res.end(req.method === 'HEAD' ? undefined : body)
    }
    try {
      const gitMatch = /^(.*?\.git)(\/.*)$/.exec(u.pathname)
      if (gitMatch) {
        const body = await readBody(req)
        await runGitCgi(dirname(repo), { method: req.method ?? 'GET', path: `/${basename(repo)}${gitMatch[2]}`, query: u.search.slice(1), headers: req.headers, body }, res)
        return
      }
      if (u.pathname === '/api/v1/tree/content-hash') {
        const out = await tryGit(repo, ['ls-tree', '-z', spec(path)])
        if (!out) return send(200, JSON.stringify({ req_result: false, data: null, err_message: `path ${path} not found` }))
        const data = out.toString().split('\0').filter(Boolean).map((l) => {
          const tab = l.indexOf('\t')
          const [, type, oid] = l.slice(0, tab).split(' ')
          return { oid, name: l.slice(tab + 1), content_type: type === 'tree' ? 'directory' : 'file' }
        })
        return send(200, ok(data))
      }
      if (u.pathname === '/api/v1/tree/dir-hash') {
        const oid = (await tryGit(repo, ['rev-parse', spec(path)]))?.toString().trim()
        return send(200, ok(oid ? [{ oid, name: path.split('/').pop() ?? '', content_type: 'directory' }] : []))
      }
      if (u.pathname === '/api/v1/file/tree') {
        const want = u.searchParams.get('oid')
        const oid = (await tryGit(repo, ['rev-parse', spec(path)]))?.toString().trim()
        if (!oid || (want && want !== oid)) return send(200, '', 'application/octet-stream')
        return send(200, await git(repo, ['cat-file', 'tree', oid]), 'application/octet-stream')
      }
      const blob = /^\/api\/v1\/file\/blob\/([0-9a-f]{40})$/.exec(u.pathname)
      if (blob) {
        const type = (await tryGit(repo, ['cat-file', '-t', blob[1]]))?.toString().trim()
        if (type !== 'blob') return send(404, 'not found', 'text/plain')
        return send(200, await git(repo, ['cat-file', 'blob', blob[1]]), 'application/octet-stream')
      }
      if (u.pathname === '/api/v1/latest-commit') {
        const p = path.replace(/^\/+/, '')
        const out = (await git(repo, ['log', '-1', '--format=%H%x00%cI%x00%s%x00%an%x00%cn', 'HEAD', '--', p || '.'])).toString().trim()
        const [oid, date, short_message, author, committer] = out.split('\0')
        return send(200, ok({ oid, date, short_message, author, committer, status: 'success' }))
      }
      const cl = /^\/api\/v1\/cl\/([^/]+)\/files-list$/.exec(u.pathname)
      if (cl) {
        const files = state.cls.get(cl[1])
        return send(200, files ? ok(files) : JSON.stringify({ req_result: false, data: null, err_message: `CL ${cl[1]} not found` }))
      }
      send(404, 'no such route', 'text/plain')
    } catch (err) {
      send(500, String((err as Error).message), 'text/plain')
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()))
  state.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return state
}
