// Builds small bare repositories for tests, configured like scripts/gen_monorepo.mjs's
// (partial clone, any-SHA1 wants, receive-pack over HTTP, object-info).
import { execFileSync, spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export interface RepoFile {
  path: string
  content?: string | Uint8Array
  /** 100644 (default), 100755, 120000 (content = link target) or 160000 (gitlink: set `submodule`). */
  mode?: '100644' | '100755' | '120000' | '160000'
  submodule?: string
}

export const SERVER_CONFIG: [string, string][] = [
  ['uploadpack.allowFilter', 'true'],
  ['uploadpack.allowAnySHA1InWant', 'true'],
  ['uploadpack.allowReachableSHA1InWant', 'true'],
  ['http.receivepack', 'true'],
  ['receive.denyNonFastforwards', 'false'],
  ['transfer.advertiseObjectInfo', 'true'],
]

export function git(repo: string, args: string[], input?: string | Uint8Array): string {
  return execFileSync('git', ['--git-dir', repo, ...args], { input, maxBuffer: 1 << 30 }).toString()
}

/** A varied file set: modes, symlinks, nested dirs, a submodule, an empty file, binary bytes. */
export function sampleFiles(extra = 0): RepoFile[] {
  const files: RepoFile[] = [
    { path: 'README.md', content: '# test repo\n' },
    { path: 'empty.txt', content: '' },
    { path: 'src/main.ts', content: 'export const x = 1\n' },
    { path: 'src/lib/util.ts', content: 'export function f() { return 2 }\n' },
    { path: 'src/lib/deep/er/still/leaf.txt', content: 'leaf\n' },
    { path: 'bin/run.sh', content: '#!/bin/sh\necho hi\n', mode: '100755' },
    { path: 'link-to-main', content: 'src/main.ts', mode: '120000' },
    { path: 'data/blob.bin', content: Uint8Array.from({ length: 3000 }, (_, i) => (i * 7919) & 0xff) },
    { path: 'vendor/sub', mode: '160000', submodule: '1234567890abcdef1234567890abcdef12345678' },
  ]
  for (let i = 0; i < extra; i++) {
    files.push({ path: `pkg/p${i % 7}/d${i % 3}/file${i}.txt`, content: `file ${i}\n`.repeat(1 + (i % 50)) })
  }
  return files
}

function fastImport(repo: string, script: Buffer[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const fi = spawn('git', ['--git-dir', repo, 'fast-import', '--quiet', '--force'], { stdio: ['pipe', 'inherit', 'pipe'] })
    let err = ''
    fi.stderr.on('data', (d) => (err += d))
    fi.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import failed: ${err}`))))
    for (const b of script) fi.stdin.write(b)
    fi.stdin.end()
  })
}

let clock = 1700000000

/** Adds a commit on `branch` changing `files` (and deleting `remove`); returns the new commit id. */
export async function commitFiles(
  repo: string,
  files: RepoFile[],
  options: { branch?: string; message?: string; remove?: string[]; parent?: string | null } = {},
): Promise<string> {
  const branch = options.branch ?? 'main'
  const msg = options.message ?? 'test commit'
  const parts: Buffer[] = [
    Buffer.from(`commit refs/heads/${branch}\ncommitter Test <test@example.com> ${clock++} +0000\ndata ${Buffer.byteLength(msg)}\n${msg}\n`),
  ]
  if (options.parent) parts.push(Buffer.from(`from ${options.parent}\n`))
  for (const p of options.remove ?? []) parts.push(Buffer.from(`D ${p}\n`))
  for (const f of files) {
    if (f.mode === '160000') {
      parts.push(Buffer.from(`M 160000 ${f.submodule} ${f.path}\n`))
      continue
    }
    const body = typeof f.content === 'string' ? Buffer.from(f.content) : Buffer.from(f.content ?? '')
    parts.push(Buffer.from(`M ${f.mode ?? '100644'} inline ${f.path}\ndata ${body.length}\n`), body, Buffer.from('\n'))
  }
  await fastImport(repo, parts)
  return git(repo, ['rev-parse', `refs/heads/${branch}`]).trim()
}

export interface TestRepo {
  /** Path of the bare repository. */
  path: string
  head: string
  /** Removes the temp dir (when the repo was made in one). */
  cleanup(): void
}

/** A bare repo with `files` in one commit on `main` (HEAD). In a new temp dir unless `dir` is given. */
export async function makeBareRepo(options: { dir?: string; name?: string; files?: RepoFile[] } = {}): Promise<TestRepo> {
  const base = options.dir ?? mkdtempSync(join(tmpdir(), 'scorpio-repo-'))
  const path = join(base, options.name ?? 'repo.git')
  execFileSync('git', ['init', '-q', '--bare', path])
  for (const [k, v] of SERVER_CONFIG) git(path, ['config', k, v])
  const head = await commitFiles(path, options.files ?? sampleFiles(), { message: 'initial import' })
  git(path, ['symbolic-ref', 'HEAD', 'refs/heads/main'])
  return { path, head, cleanup: () => (options.dir ? rmSync(path, { recursive: true, force: true }) : rmSync(base, { recursive: true, force: true })) }
}

/** Writes a raw object bypassing Git's checks (for hostile-server tests); returns its id. */
export function writeRawObject(repo: string, type: string, body: Uint8Array): string {
  return git(repo, ['hash-object', '--literally', '-w', '-t', type, '--stdin'], body).trim()
}

/** `git ls-tree -r -t` of a commit as {mode, type, oid, path} rows. */
export function lsTree(repo: string, rev: string): { mode: string; type: string; oid: string; path: string }[] {
  return git(repo, ['ls-tree', '-r', '-t', '-z', rev])
    .split('\0')
    .filter(Boolean)
    .map((line) => {
      const tab = line.indexOf('\t')
      const [mode, type, oid] = line.slice(0, tab).split(' ')
      return { mode, type, oid, path: line.slice(tab + 1) }
    })
}
