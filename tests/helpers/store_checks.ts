// Checks shared by the tests that feed a store a hostile or broken server: what it left on disk,
// and the error it gave.
import * as assert from 'uvu/assert'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import type { Store } from '../../lib/store/mod.ts'

/** Loose objects, and every file in packs/ (packs, indexes, and temp files of an unfinished fetch). */
export function storedObjects(store: Store): string[] {
  return readdirSync(store.db.dir)
    .filter((d) => /^[0-9a-f]{2}$/.test(d) || d === 'packs')
    .flatMap((d) => readdirSync(join(store.db.dir, d)))
}

/** Awaits `p`, which must fail with a message matching `re`; returns the error. */
export async function expectError(p: Promise<unknown>, re: RegExp): Promise<Error> {
  try {
    await p
  } catch (err) {
    assert.match((err as Error).message, re, (err as Error).message)
    return err as Error
  }
  assert.unreachable(`expected an error matching ${re}`)
  throw new Error('unreachable')
}
