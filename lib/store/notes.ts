// Facts derived from immutable objects, kept beside them so that a later command (any process of
// this cache) need not derive them again: e.g. where a path changed along a run of first-parent
// commits, which a second `blame` would otherwise learn by reading every commit's root tree again.
// One file per key, one fact a line, appended: a line cut short by a crash is skipped on reading
// (by the reader of the fact: it does not parse).
import { createHash } from 'node:crypto'
import { promises as fsp } from 'node:fs'
import { join } from 'node:path'

export class Notes {
  constructor(private readonly dir: string) {}

  private file(key: string): string {
    return join(this.dir, createHash('sha1').update(key).digest('hex'))
  }

  /** The lines noted under `key`, oldest first (none when nothing was noted or it cannot be read). */
  async read(key: string): Promise<string[]> {
    const text = await fsp.readFile(this.file(key), 'utf8').catch(() => '')
    const lines = text.split('\n')
    lines.pop() // an unfinished last line (or the empty rest after the last newline)
    return lines.filter(Boolean)
  }

  /** Adds one line (no newline in it) under `key`. A failure (full disk, read-only cache) only loses the note. */
  async add(key: string, line: string): Promise<void> {
    if (line.includes('\n')) throw new Error('a note is one line')
    try {
      await fsp.mkdir(this.dir, { recursive: true })
      // One write with O_APPEND: concurrent writers do not interleave within it. The newline
      // before ends a line a crash may have cut short, which would otherwise swallow this one.
      await fsp.appendFile(this.file(key), '\n' + line + '\n')
    } catch {
      // a note is only a shortcut
    }
  }
}
