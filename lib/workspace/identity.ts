// Who a commit is by: --author, GIT_AUTHOR_*/GIT_COMMITTER_*, scorpio.toml [user], git config.
import { execFileSync } from 'node:child_process'
import { UsageError } from '../errors.ts'
import type { Person } from '../store/types.ts'

export interface IdentityOptions {
  /** `Name <email>` from --author. */
  author?: string
  /** [user] from scorpio.toml. */
  user?: { name?: string; email?: string }
  env?: Record<string, string | undefined>
  /** Seconds since the epoch (tests); default now. */
  now?: number
  /** `git config` lookup; default runs `git config --get`. */
  gitConfig?: (key: string) => string | undefined
}

function defaultGitConfig(key: string): string | undefined {
  try {
    return execFileSync('git', ['config', '--get', key], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() || undefined
  } catch {
    return undefined
  }
}

export function parseAuthor(s: string): { name: string; email: string } {
  const m = /^\s*([^<>]*?)\s*<([^<>]*)>\s*$/.exec(s)
  if (!m || !m[1]) throw new UsageError(`Author "${s}" is not of the form "Name <email>"`)
  return { name: m[1], email: m[2] }
}

/** Parses GIT_*_DATE in Git's internal format (`1700000000 +0100`) or anything Date understands. */
function parseDate(s: string | undefined, fallback: number, tz: number): { timestamp: number; timezoneOffset: number } {
  if (!s) return { timestamp: fallback, timezoneOffset: tz }
  const m = /^@?(\d+)(?:\s+([+-])(\d\d)(\d\d))?$/.exec(s.trim())
  if (m) {
    const off = m[2] ? (Number(m[3]) * 60 + Number(m[4])) * (m[2] === '-' ? -1 : 1) : tz
    return { timestamp: Number(m[1]), timezoneOffset: off }
  }
  const t = Date.parse(s)
  if (Number.isNaN(t)) throw new UsageError(`Cannot read the date "${s}"`)
  return { timestamp: Math.floor(t / 1000), timezoneOffset: tz }
}

export function resolveIdentity(options: IdentityOptions = {}): { author: Person; committer: Person } {
  const env = options.env ?? process.env
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const tz = -new Date(now * 1000).getTimezoneOffset()
  const gitConfig = options.gitConfig ?? defaultGitConfig
  let cfg: { name?: string; email?: string } | undefined
  const fromConfig = () => (cfg ??= { name: options.user?.name ?? gitConfig('user.name'), email: options.user?.email ?? gitConfig('user.email') })
  const flag = options.author ? parseAuthor(options.author) : undefined
  const aName = flag?.name ?? env.GIT_AUTHOR_NAME ?? fromConfig().name
  const aEmail = flag?.email ?? env.GIT_AUTHOR_EMAIL ?? fromConfig().email
  if (!aName || aEmail === undefined) {
    throw new UsageError(
      'No author identity: pass --author "Name <email>", set [user] name and email in scorpio.toml, or run git config --global user.name/user.email',
    )
  }
  const cName = env.GIT_COMMITTER_NAME ?? fromConfig().name ?? aName
  const cEmail = env.GIT_COMMITTER_EMAIL ?? fromConfig().email ?? aEmail
  return {
    author: { name: aName, email: aEmail, ...parseDate(env.GIT_AUTHOR_DATE, now, tz) },
    committer: { name: cName, email: cEmail, ...parseDate(env.GIT_COMMITTER_DATE, now, tz) },
  }
}
