// Shared by overlay tests: a repo in a MemStore, the same files in a plain directory, and a walk
// that renders either side as one comparable snapshot (type, permissions, contents, link target).
import { promises as fsp, constants as C, mkdtempSync } from 'node:fs'
import { join } from 'node:path'
import { tmpdir } from 'node:os'
import { MemStore, type FileSpec } from './mem_store.ts'
import { openLower } from '../../lib/lower/mod.ts'
import { Overlay } from '../../lib/overlay/mod.ts'

export const FILES: Record<string, FileSpec> = {
  'README.md': '# demo\n',
  'bin/run.sh': { content: '#!/bin/sh\necho hi\n', mode: '100755' },
  'src/a.ts': 'export const a = 1\n',
  'src/b.ts': 'export const b = 2\n',
  'src/lib/deep.ts': 'deep\n',
  'src/lib/more/x.txt': 'x\n',
  'docs/guide.md': 'guide\n',
  'docs/img/logo.txt': 'logo\n',
  'link-to-readme': { symlink: 'README.md' },
  'src/dirlink': { symlink: 'lib' },
}

export function tmp(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix))
}

/** Writes `files` into a plain directory (what a checkout would look like). */
export async function writePlain(dir: string, files: Record<string, FileSpec>): Promise<void> {
  for (const [p, spec] of Object.entries(files)) {
    const full = join(dir, p)
    await fsp.mkdir(join(full, '..'), { recursive: true })
    if (typeof spec === 'string') await fsp.writeFile(full, spec, { mode: 0o644 })
    else if ('symlink' in spec) await fsp.symlink(spec.symlink, full)
    else if ('content' in spec) {
      await fsp.writeFile(full, spec.content)
      await fsp.chmod(full, spec.mode === '100755' ? 0o755 : 0o644)
    } else await fsp.mkdir(full)
  }
}

export async function snapshotPlain(dir: string, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const name of (await fsp.readdir(join(dir, rel))).sort()) {
    const p = rel ? `${rel}/${name}` : name
    const st = await fsp.lstat(join(dir, p))
    const perm = (st.mode & 0o777).toString(8)
    if (st.isDirectory()) {
      out[p] = `dir ${perm}`
      Object.assign(out, await snapshotPlain(dir, p))
    } else if (st.isSymbolicLink()) out[p] = `link -> ${await fsp.readlink(join(dir, p))}`
    else out[p] = `file ${perm} ${JSON.stringify(await fsp.readFile(join(dir, p), 'utf8'))}`
  }
  return out
}

export async function snapshotOverlay(ov: Overlay, rel = ''): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  const names = (await ov.readdir(rel)).map((d) => d.name).sort()
  for (const name of names) {
    const p = rel ? `${rel}/${name}` : name
    const node = (await ov.lookup(p))!
    const attr = await ov.getattr(node)
    const perm = (attr.mode & 0o777).toString(8)
    if (node.type === 'dir') {
      out[p] = `dir ${perm}`
      Object.assign(out, await snapshotOverlay(ov, p))
    } else if (node.type === 'symlink') out[p] = `link -> ${await ov.readlink(p)}`
    else {
      const h = await ov.open(p, C.O_RDONLY)
      const data = await ov.read(h, 0, 1 << 20)
      await ov.release(h)
      if (data.length !== attr.size) throw new Error(`size of ${p}: getattr says ${attr.size}, read gave ${data.length}`)
      out[p] = `file ${perm} ${JSON.stringify(Buffer.from(data).toString('utf8'))}`
    }
  }
  return out
}

export async function setup(files = FILES) {
  const store = new MemStore()
  const commit = store.commit(files)
  const plain = tmp('scorpio-plain-')
  await writePlain(plain, files)
  const upperDir = tmp('scorpio-upper-')
  const lower = await openLower(store, commit)
  const ov = new Overlay({ upperDir, lower })
  await ov.init()
  const cleanup = async () => {
    await fsp.rm(plain, { recursive: true, force: true })
    await fsp.rm(upperDir, { recursive: true, force: true })
  }
  return { store, commit, plain, upperDir, lower, ov, cleanup }
}

/** Writes bytes through the overlay as `echo > path` would. */
export async function writeFileOv(ov: Overlay, path: string, text: string, flags = C.O_WRONLY | C.O_TRUNC): Promise<void> {
  const h = (await ov.lookup(path)) ? await ov.open(path, flags) : await ov.create(path, 0o644, C.O_WRONLY)
  const st = flags & C.O_APPEND ? (await ov.getattr((await ov.lookup(path))!)).size : 0
  await ov.write(h, Buffer.from(text), st)
  await ov.release(h)
}
