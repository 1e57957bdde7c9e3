// Pins: objects a live workspace needs kept (committed but not pushed). One small JSON file per
// workspace under `<db>/pins/`, rewritten atomically; gc reads them all.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import type { Oid } from './types.ts'

function fileOf(dir: string, workspaceId: string): string {
  return join(dir, 'pins', encodeURIComponent(workspaceId) + '.json')
}

async function readPins(file: string): Promise<Set<Oid>> {
  try {
    return new Set(JSON.parse(await fsp.readFile(file, 'utf8')) as Oid[])
  } catch {
    return new Set()
  }
}

async function writePins(dir: string, file: string, set: Set<Oid>): Promise<void> {
  await fsp.mkdir(join(dir, 'pins'), { recursive: true })
  if (set.size === 0) {
    await fsp.rm(file, { force: true })
    return
  }
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}`
  await fsp.writeFile(tmp, JSON.stringify([...set]))
  await fsp.rename(tmp, file)
}

export async function pinObjects(dir: string, workspaceId: string, oids: Oid[]): Promise<void> {
  const file = fileOf(dir, workspaceId)
  const set = await readPins(file)
  for (const o of oids) set.add(o)
  await writePins(dir, file, set)
}

/** Unpins `oids`, or everything the workspace pinned when `oids` is omitted. */
export async function unpinObjects(dir: string, workspaceId: string, oids?: Oid[]): Promise<void> {
  const file = fileOf(dir, workspaceId)
  if (!oids) return writePins(dir, file, new Set())
  const set = await readPins(file)
  for (const o of oids) set.delete(o)
  await writePins(dir, file, set)
}

export async function allPinned(dir: string): Promise<Set<Oid>> {
  const out = new Set<Oid>()
  let names: string[] = []
  try {
    names = await fsp.readdir(join(dir, 'pins'))
  } catch {
    return out
  }
  for (const n of names.filter((n) => n.endsWith('.json'))) {
    for (const o of await readPins(join(dir, 'pins', n))) out.add(o)
  }
  return out
}
