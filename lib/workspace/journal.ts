// The journal makes base moves crash-safe. Sequence for commit and checkout:
//   1. objects written to the store (harmless garbage if we stop here)
//   2. journal `<state>/journal.json` = {op, from, to}        (atomic)
//   3. workspace.json with base = to                          (atomic: THE commit point)
//   4. upper-layer cleanup (each step leaves the visible tree unchanged, so it can be redone)
//   5. journal removed
// Recovery (on the next operation or mount): base = from → drop the journal (old state);
// base = to → redo step 4, then drop it (new state). Never a mix.
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'
import type { Oid } from '../store/types.ts'
import { writeFileAtomic } from './state.ts'

export const JOURNAL_FILE = 'journal.json'

export interface Journal {
  op: 'commit' | 'checkout'
  from: Oid
  to: Oid
  /** Workspace-relative paths the mount should invalidate once done. */
  paths?: string[]
}

/** Test hook: `SCORPIO_TEST_CRASH_AT=<step>` makes the process die (exit 137) at that step. */
export function crashPoint(step: string): void {
  if (process.env.SCORPIO_TEST_CRASH_AT === step) process.kill(process.pid, 'SIGKILL')
}

export async function writeJournal(stateDir: string, j: Journal): Promise<void> {
  await writeFileAtomic(join(stateDir, JOURNAL_FILE), JSON.stringify(j) + '\n')
}

export async function readJournal(stateDir: string): Promise<Journal | undefined> {
  try {
    return JSON.parse(await fsp.readFile(join(stateDir, JOURNAL_FILE), 'utf8')) as Journal
  } catch {
    return undefined
  }
}

export async function removeJournal(stateDir: string): Promise<void> {
  await fsp.rm(join(stateDir, JOURNAL_FILE), { force: true })
}
