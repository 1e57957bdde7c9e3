// Waiting for a mount started by another process to be ready: registered by a live process, in
// mountinfo, and answering a stat.
import { promises as fsp } from 'node:fs'
import { resolve } from 'node:path'
import { ScorpioError } from '../errors.ts'
import { findMount } from '../registry/mod.ts'
import type { MountRecord } from '../registry/mod.ts'

async function answers(dir: string, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<boolean>((r) => (timer = setTimeout(() => r(false), ms)))
  const stat = fsp.stat(dir).then((st) => st.isDirectory(), () => false)
  try {
    return await Promise.race([stat, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export async function waitForMount(mountpoint: string, options: { timeout?: number } = {}): Promise<MountRecord> {
  const dir = resolve(mountpoint)
  const end = Date.now() + (options.timeout ?? 120) * 1000
  for (;;) {
    const rec = findMount(dir)
    if (rec && (await answers(dir, 2000))) return rec
    if (Date.now() >= end) throw new ScorpioError('timeout', `"${mountpoint}" did not become ready within ${options.timeout ?? 120} s`)
    await new Promise((r) => setTimeout(r, 100))
  }
}
