// The paths whose lower contents a mount actually read, for prefetch profiles
// (`scorpio prefetch --record FILE` / `--profile FILE`): one workspace path per line, appended to
// `<state>/reads.log` by the mount process (each path once per process).
import { appendFileSync, promises as fsp } from 'node:fs'
import { join } from 'node:path'

export const READ_LOG = 'reads.log'

export function readLogPath(stateDir: string): string {
  return join(stateDir, READ_LOG)
}

export class ReadRecorder {
  private seen = new Set<string>()
  private pending: string[] = []
  private timer: NodeJS.Timeout | undefined

  constructor(readonly file: string) {}

  record(path: string): void {
    if (this.seen.has(path) || path.includes('\n')) return
    this.seen.add(path)
    this.pending.push(path)
    this.timer ??= setTimeout(() => this.flush(), 200)
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    if (this.pending.length === 0) return
    const lines = this.pending.join('\n') + '\n'
    this.pending = []
    try {
      appendFileSync(this.file, lines)
    } catch {
      /* a profile is a hint: never fail a read for it */
    }
  }
}

/** The unique paths in a read log or profile file, sorted. */
export async function readPathList(file: string): Promise<string[]> {
  const text = await fsp.readFile(file, 'utf8')
  return [...new Set(text.split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#')))].sort()
}
