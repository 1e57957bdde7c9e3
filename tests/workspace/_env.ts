// A workspace over a real bare repository, offline (no mount): the upper layer is written the way
// the overlay writes it (docs/upper-format.md), and the same user-level edit is made in a plain Git
// checkout (the "mirror"), so every result can be checked against what Git itself says.
import { execFileSync } from 'node:child_process'
import { chmodSync, cpSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { makeBareRepo, sampleFiles, type RepoFile, type TestRepo } from '../helpers/repos.ts'
import { openLocalRemote } from '../../lib/remote/mod.ts'
import { openStore, type Store } from '../../lib/store/mod.ts'
import { createWorkspaceState } from '../../lib/workspace/state.ts'
import { openWorkspace, type Workspace } from '../../lib/workspace/workspace.ts'

export const AUTHOR = 'Test User <test@example.com>'

export function sh(cwd: string, cmd: string, args: string[], input?: string | Uint8Array): string {
  return execFileSync(cmd, args, { cwd, input, maxBuffer: 1 << 28, env: { ...process.env, GIT_AUTHOR_NAME: 'M', GIT_AUTHOR_EMAIL: 'm@x', GIT_COMMITTER_NAME: 'M', GIT_COMMITTER_EMAIL: 'm@x' } }).toString()
}

export interface Env {
  dir: string
  repo: TestRepo
  stateDir: string
  upper: string
  cache: string
  mirror: string
  ws: Workspace
  store: Store
  /** Base commit at creation. */
  head: string
  close(): Promise<void>
}

export async function makeEnv(files: RepoFile[] = sampleFiles(60)): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'scorpio-ws-'))
  const repo = await makeBareRepo({ dir, files })
  const cache = join(dir, 'cache')
  const stateDir = join(dir, 'state')
  await createWorkspaceState(stateDir, { remote: { url: repo.path }, ref: 'main', base: repo.head, pushed: repo.head, mountpoint: join(dir, 'mnt'), cacheDir: cache })
  const store = await openStore({ remote: await openLocalRemote(repo.path), cacheDir: cache })
  await store.loadCommit(repo.head)
  const ws = await openWorkspace(stateDir, { store })
  const mirror = join(dir, 'mirror')
  sh(dir, 'git', ['clone', '-q', repo.path, mirror])
  return {
    dir, repo, stateDir, upper: join(stateDir, 'upper'), cache, mirror, ws, store, head: repo.head,
    async close() {
      await ws.close()
      await store.close()
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

/** `mode oid path` of every file in a plain directory, as `git add -A` would record it (no gitlinks). */
export function treeOfDir(dir: string): string {
  const gitDir = mkdtempSync(join(tmpdir(), 'scorpio-idx-'))
  try {
    sh(dir, 'git', ['init', '-q', '--bare', gitDir])
    const env = { ...process.env, GIT_DIR: gitDir, GIT_WORK_TREE: dir }
    execFileSync('git', ['add', '-A', '.'], { cwd: dir, env })
    return filesListing(execFileSync('git', ['ls-files', '-s'], { cwd: dir, env }).toString())
  } finally {
    rmSync(gitDir, { recursive: true, force: true })
  }
}

function filesListing(lsFiles: string): string {
  return lsFiles.split('\n').filter((l) => l && !l.startsWith('160000')).map((l) => l.replace(/ 0\t/, ' ')).join('\n')
}

/** The mirror's files in the same form as treeOfDir. */
export function mirrorTree(env: Env): string {
  sh(env.mirror, 'git', ['add', '-A'])
  return filesListing(sh(env.mirror, 'git', ['ls-files', '-s']))
}

/** The mirror's tree id (gitlinks included): what a commit of the workspace must have. */
export function mirrorTreeId(env: Env): string {
  sh(env.mirror, 'git', ['add', '-A'])
  return sh(env.mirror, 'git', ['write-tree']).trim()
}

function lowerBlob(env: Env, path: string): Buffer {
  return execFileSync('git', ['--git-dir', env.repo.path, 'cat-file', 'blob', `${env.ws.state.base}:${path}`])
}

export function lowerOid(env: Env, path: string): string {
  return execFileSync('git', ['--git-dir', env.repo.path, 'rev-parse', `${env.ws.state.base}:${path}`]).toString().trim()
}

function ensureUpperParents(env: Env, path: string): void {
  mkdirSync(dirname(join(env.upper, path)), { recursive: true })
}

/** A whiteout: a 0/0 character device (we are root), or a `.wh.` file when `dotWh`. */
export function upperWhiteout(env: Env, path: string, dotWh = false): void {
  ensureUpperParents(env, path)
  const abs = join(env.upper, path)
  rmSync(abs, { recursive: true, force: true })
  if (dotWh) writeFileSync(join(dirname(abs), '.wh.' + abs.split('/').pop()), '')
  else execFileSync('mknod', [abs, 'c', '0', '0'])
}

export const edit = {
  write(env: Env, path: string, content: string | Uint8Array, exec = false) {
    for (const root of [env.mirror, env.upper]) {
      const abs = join(root, path)
      mkdirSync(dirname(abs), { recursive: true })
      rmSync(abs, { recursive: true, force: true })
      writeFileSync(abs, content)
      chmodSync(abs, exec ? 0o755 : 0o644)
    }
  },
  /** Copy-up without a change (what an editor that rewrites the same bytes leaves behind). */
  copyUp(env: Env, path: string) {
    ensureUpperParents(env, path)
    const abs = join(env.upper, path)
    writeFileSync(abs, lowerBlob(env, path))
    const mode = sh(env.mirror, 'git', ['ls-files', '-s', path]).split(' ')[0]
    chmodSync(abs, mode === '100755' ? 0o755 : 0o644)
  },
  chmod(env: Env, path: string, exec: boolean) {
    chmodSync(join(env.mirror, path), exec ? 0o755 : 0o644)
    if (!existsSync(join(env.upper, path))) edit.copyUp(env, path)
    chmodSync(join(env.upper, path), exec ? 0o755 : 0o644)
  },
  remove(env: Env, path: string, dotWh = false) {
    rmSync(join(env.mirror, path), { recursive: true, force: true })
    upperWhiteout(env, path, dotWh)
  },
  symlink(env: Env, path: string, target: string) {
    for (const root of [env.mirror, env.upper]) {
      const abs = join(root, path)
      mkdirSync(dirname(abs), { recursive: true })
      rmSync(abs, { recursive: true, force: true })
      symlinkSync(target, abs)
    }
  },
  /** A metadata-only rename of a lower directory: origin xattr on the new dir, whiteout at the old. */
  renameDir(env: Env, from: string, to: string) {
    const oid = lowerOid(env, from)
    cpSync(join(env.mirror, from), join(env.mirror, to), { recursive: true, verbatimSymlinks: true })
    rmSync(join(env.mirror, from), { recursive: true, force: true })
    ensureUpperParents(env, to)
    mkdirSync(join(env.upper, to))
    execFileSync('setfattr', ['-n', 'user.scorpio.origin', '-v', `40000 ${oid}`, join(env.upper, to)])
    upperWhiteout(env, from)
  },
  /** A metadata-only rename of a lower file: a metacopy (empty file + origin xattr). */
  renameFile(env: Env, from: string, to: string) {
    const oid = lowerOid(env, from)
    const mode = sh(env.mirror, 'git', ['ls-files', '-s', from]).split(' ')[0]
    mkdirSync(dirname(join(env.mirror, to)), { recursive: true })
    execFileSync('mv', [join(env.mirror, from), join(env.mirror, to)])
    ensureUpperParents(env, to)
    writeFileSync(join(env.upper, to), '')
    chmodSync(join(env.upper, to), mode === '100755' ? 0o755 : 0o644)
    execFileSync('setfattr', ['-n', 'user.scorpio.origin', '-v', `${mode} ${oid}`, join(env.upper, to)])
    upperWhiteout(env, from)
  },
  /** Delete a lower directory and create a new one of the same name: opaque. */
  replaceDir(env: Env, dir: string, files: Record<string, string>) {
    rmSync(join(env.mirror, dir), { recursive: true, force: true })
    rmSync(join(env.upper, dir), { recursive: true, force: true })
    mkdirSync(join(env.upper, dir), { recursive: true })
    writeFileSync(join(env.upper, dir, '.wh..wh..opq'), '')
    for (const [name, content] of Object.entries(files)) {
      for (const root of [env.mirror, env.upper]) {
        mkdirSync(dirname(join(root, dir, name)), { recursive: true })
        writeFileSync(join(root, dir, name), content)
      }
    }
  },
}

/** What the workspace shows, materialized in a plain dir by applying the upper layer to the base (overlay rules). */
export async function materialize(env: Env, base = env.ws.state.base): Promise<string> {
  const out = mkdtempSync(join(tmpdir(), 'scorpio-view-'))
  const gitDir = await exportObjects(env, base)
  extractTree(gitDir, base, out)
  applyUpper(env, gitDir, env.upper, out, true)
  return out
}

function extractTree(gitDir: string, treeish: string, dest: string): void {
  const tar = execFileSync('git', ['--git-dir', gitDir, 'archive', '--format=tar', treeish], { maxBuffer: 1 << 28 })
  execFileSync('tar', ['-x', '-C', dest], { input: tar })
}

function applyUpper(env: Env, gitDir: string, upperDir: string, dest: string, root: boolean): void {
  const names: string[] = readdirSync(upperDir)
  if (names.includes('.wh..wh..opq')) {
    rmSync(dest, { recursive: true, force: true })
    mkdirSync(dest)
  }
  let origin = ''
  try {
    origin = execFileSync('getfattr', ['--only-values', '-n', 'user.scorpio.origin', upperDir], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
  } catch { /* none */ }
  if (origin && !names.includes('.wh..wh..opq')) {
    rmSync(dest, { recursive: true, force: true })
    mkdirSync(dest)
    extractTree(gitDir, origin.split(' ')[1], dest)
  }
  for (const name of names) {
    if (root && name === '.scorpio-work') continue
    if (name === '.wh..wh..opq') continue
    const src = join(upperDir, name)
    if (name.startsWith('.wh.')) {
      rmSync(join(dest, name.slice(4)), { recursive: true, force: true })
      continue
    }
    const st = lstatSync(src)
    const target = join(dest, name)
    if (st.isCharacterDevice() && st.rdev === 0) rmSync(target, { recursive: true, force: true })
    else if (st.isDirectory()) {
      if (!lstatSync(target, { throwIfNoEntry: false })?.isDirectory()) {
        rmSync(target, { recursive: true, force: true })
        mkdirSync(target)
      }
      applyUpper(env, gitDir, src, target, false)
    } else if (st.isSymbolicLink()) {
      rmSync(target, { recursive: true, force: true })
      symlinkSync(readlinkSync(src), target)
    } else if (st.isFile()) {
      rmSync(target, { recursive: true, force: true })
      let fileOrigin = ''
      try {
        fileOrigin = execFileSync('getfattr', ['--only-values', '-n', 'user.scorpio.origin', src], { stdio: ['ignore', 'pipe', 'ignore'] }).toString()
      } catch { /* none */ }
      if (fileOrigin) writeFileSync(target, execFileSync('git', ['--git-dir', gitDir, 'cat-file', 'blob', fileOrigin.split(' ')[1]]))
      else writeFileSync(target, readFileSync(src))
      chmodSync(target, st.mode & 0o777)
    }
  }
}

/** Copies every object reachable from `commit` out of the store into a clone of the server repo, then runs git fsck. */
export async function exportAndFsck(env: Env, commit: string): Promise<string> {
  const target = await exportObjects(env, commit)
  return sh(env.dir, 'git', ['--git-dir', target, 'fsck', '--strict', '--no-dangling'])
}

/** A bare clone of the server repo plus every object reachable from `commit` copied out of the store. */
export async function exportObjects(env: Env, commit: string): Promise<string> {
  const target = join(env.dir, `export-${commit.slice(0, 8)}.git`)
  if (existsSync(target)) return target
  sh(env.dir, 'git', ['clone', '-q', '--bare', env.repo.path, target])
  const seen = new Set<string>()
  const stack = [commit]
  while (stack.length) {
    const oid = stack.pop()!
    if (seen.has(oid)) continue
    seen.add(oid)
    const have = (() => {
      try {
        execFileSync('git', ['--git-dir', target, 'cat-file', '-e', oid], { stdio: 'ignore' })
        return true
      } catch {
        return false
      }
    })()
    if (have) continue
    const o = await env.store.readObject(oid)
    const got = execFileSync('git', ['--git-dir', target, 'hash-object', '-w', '-t', o.type, '--stdin'], { input: o.body }).toString().trim()
    if (got !== oid) throw new Error(`object ${oid} re-hashed as ${got}`)
    if (o.type === 'commit') {
      const info = await env.store.readCommit(oid)
      stack.push(info.tree, ...info.parents)
    } else if (o.type === 'tree') {
      for (const e of await env.store.readTree(oid)) if (e.mode !== '160000') stack.push(e.oid)
    }
  }
  sh(env.dir, 'git', ['--git-dir', target, 'update-ref', 'refs/heads/exported', commit])
  return target
}

/** `mode oid path` of every file under `dir` (skipping .git), read one file at a time with plain fs calls. */
export async function listFiles(dir: string): Promise<string> {
  const { promises: fsp } = await import('node:fs')
  const { createHash } = await import('node:crypto')
  const rows: string[] = []
  const walk = async (rel: string): Promise<void> => {
    for (const d of await fsp.readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name
      if (p === '.git') continue
      const abs = join(dir, p)
      let body: Buffer
      let mode: string
      if (d.isDirectory()) {
        await walk(p)
        continue
      } else if (d.isSymbolicLink()) {
        body = await fsp.readlink(abs, { encoding: 'buffer' })
        mode = '120000'
      } else {
        body = await fsp.readFile(abs)
        mode = (await fsp.lstat(abs)).mode & 0o100 ? '100755' : '100644'
      }
      const oid = createHash('sha1').update(`blob ${body.length}\0`).update(body).digest('hex')
      rows.push(`${mode} ${oid} ${p}`)
    }
  }
  await walk('')
  return rows.sort().join('\n')
}
