// A local bare repository as a remote (`/srv/repo.git`, `file:///srv/repo.git`): git plumbing over
// pipes. Offline use and tests. Every object is re-hashed on the way in, like any other backend.
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { IntegrityError, RemoteError } from '../errors.ts'
import { hashObject } from '../git/sha1.ts'
import { writePack } from '../git/pack_writer.ts'
import type { ObjectType, Oid } from '../store/types.ts'
import { remoteKey, type PushRequest, type RawObject, type Remote, type RemoteRef } from './types.ts'

const ZERO = '0'.repeat(40)

interface RunResult { code: number; stdout: Buffer; stderr: string }

function run(args: string[], input?: Uint8Array | Uint8Array[], env?: Record<string, string>): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('git', args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ? { ...process.env, ...env } : process.env })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (d: Buffer) => out.push(d))
    child.stderr.on('data', (d: Buffer) => err.push(d))
    child.on('error', reject)
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }))
    child.stdin.on('error', () => {})
    if (input) for (const c of Array.isArray(input) ? input : [input]) child.stdin.write(c)
    child.stdin.end()
  })
}

/** Reads objects with `git cat-file --batch`, verifying each against its id. */
export async function catFileBatch(gitDir: string, oids: Oid[]): Promise<RawObject[]> {
  if (oids.length === 0) return []
  const r = await run(['--git-dir', gitDir, 'cat-file', '--batch'], Buffer.from(oids.join('\n') + '\n'))
  if (r.code !== 0) throw new RemoteError('remote-failed', `git cat-file failed in ${gitDir}: ${r.stderr.trim()}`)
  const objs: RawObject[] = []
  let i = 0
  const buf = r.stdout
  for (const want of oids) {
    const nl = buf.indexOf(10, i)
    const line = buf.subarray(i, nl).toString()
    const [oid, type, size] = line.split(' ')
    if (type === 'missing' || !size) throw new RemoteError('not-found', `Object ${want} does not exist in ${gitDir}`)
    const body = Uint8Array.prototype.slice.call(buf, nl + 1, nl + 1 + Number(size)) as Uint8Array
    i = nl + 1 + Number(size) + 1
    const got = hashObject(type as ObjectType, body)
    if (got !== want || oid !== want) throw new IntegrityError(`Object ${want} arrived with id ${got}`)
    objs.push({ oid: want, type: type as ObjectType, body })
  }
  return objs
}

export class LocalRemote implements Remote {
  readonly key: string
  readonly batchSizes = true
  readonly path: string
  readonly gitDir: string

  constructor(gitDir: string, options: { path?: string } = {}) {
    this.gitDir = gitDir
    this.key = 'local_' + remoteKey(gitDir)
    this.path = (options.path ?? '').replace(/^\/+|\/+$/g, '')
  }

  describe(): string {
    return this.gitDir
  }

  private async git(args: string[], input?: Uint8Array | Uint8Array[]): Promise<string> {
    const r = await run(['--git-dir', this.gitDir, ...args], input)
    if (r.code !== 0) throw new RemoteError('remote-failed', `git ${args[0]} failed in ${this.gitDir}: ${r.stderr.trim()}`)
    return r.stdout.toString()
  }

  async listRefs(): Promise<RemoteRef[]> {
    const out = await this.git(['for-each-ref', '--format=%(objectname) %(refname) %(*objectname)'])
    const refs: RemoteRef[] = []
    for (const line of out.split('\n').filter(Boolean)) {
      const [oid, name, peeled] = line.split(' ')
      refs.push(peeled ? { name, oid, peeled } : { name, oid })
    }
    const head = await run(['--git-dir', this.gitDir, 'symbolic-ref', '-q', 'HEAD'])
    const target = head.stdout.toString().trim()
    const tip = refs.find((r) => r.name === target)
    if (tip) refs.unshift({ name: 'HEAD', oid: tip.oid, symref: target })
    return refs
  }

  async fetchCommitTrees(commit: Oid): Promise<RawObject[]> {
    const [c] = await catFileBatch(this.gitDir, [commit])
    if (c.type !== 'commit') throw new RemoteError('not-a-commit', `Object ${commit} is a ${c.type}, not a commit`)
    const trees = await this.git(['ls-tree', '-r', '-d', '--format=%(objecttype) %(objectname)', commit])
    const root = new TextDecoder().decode(c.body).slice(5, 45)
    const ids = [...new Set([root, ...trees.split('\n').filter((l) => l.startsWith('tree ')).map((l) => l.slice(5))])]
    return [c, ...(await catFileBatch(this.gitDir, ids))]
  }

  fetchBlobs(oids: Oid[]): Promise<RawObject[]> {
    return catFileBatch(this.gitDir, [...new Set(oids)])
  }

  async objectSizes(oids: Oid[]): Promise<Map<Oid, number>> {
    const sizes = new Map<Oid, number>()
    if (oids.length === 0) return sizes
    const out = await this.git(['cat-file', '--batch-check'], Buffer.from(oids.join('\n') + '\n'))
    for (const line of out.split('\n').filter(Boolean)) {
      const [oid, type, size] = line.split(' ')
      if (type !== 'missing' && size) sizes.set(oid, Number(size))
    }
    return sizes
  }

  async fetchTree(oid: Oid): Promise<RawObject> {
    const [t] = await catFileBatch(this.gitDir, [oid])
    return t
  }

  async push(req: PushRequest): Promise<void> {
    if (req.objects.length) {
      const pack = writePack(req.objects)
      await this.git(['unpack-objects', '-q'], pack)
    }
    const r = await run(['--git-dir', this.gitDir, 'update-ref', '-m', 'scorpio push', req.ref, req.newOid, req.oldOid ?? ZERO])
    if (r.code !== 0) {
      throw new RemoteError('push-rejected', `Push of ${req.ref} was rejected by ${this.gitDir}: ${r.stderr.trim()}`)
    }
  }
}

/** `/srv/repo.git` or `file:///srv/repo.git` → a LocalRemote, after checking it is a repository. */
export async function openLocalRemote(url: string, options: { path?: string } = {}): Promise<LocalRemote> {
  const p = resolve(url.startsWith('file://') ? fileURLToPath(url) : url)
  if (!existsSync(p)) throw new RemoteError('not-found', `Repository ${p} does not exist; check the path`)
  const r = await run(['--git-dir', p, 'rev-parse', '--git-dir'])
  if (r.code !== 0) throw new RemoteError('not-a-repository', `${p} is not a Git repository`)
  return new LocalRemote(p, options)
}
