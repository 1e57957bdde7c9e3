// Mount settings from three sources, later ones winning: `scorpio.toml` (cwd, then
// $XDG_CONFIG_HOME/scorpio/), `SCORPIO_*` environment variables, command-line flags.
// The keys are documented in docs/config.md.
import { existsSync, readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { parse, TomlError } from 'smol-toml'
import { UsageError } from '../errors.ts'

export interface UserSettings {
  name?: string
  email?: string
}

export interface Settings {
  /** Remote URL: Git smart HTTP, or a Mega base URL when `mega` is set. */
  baseUrl?: string
  mega?: boolean
  /** Subdirectory of the monorepo to mount (`--path`). */
  path?: string
  rev?: string
  cache?: string
  state?: string
  upper?: string
  cl?: string
  allowOther?: boolean
  debug?: boolean
  /** Seconds a remote request may take before an uncached read fails with EIO. */
  requestTimeout?: number
  user?: UserSettings
}

type Kind = 'string' | 'boolean' | 'number' | 'path'

/** The settings keys: TOML name, env name, type. */
const KEYS: { key: keyof Settings; toml: string; env: string; kind: Kind }[] = [
  { key: 'baseUrl', toml: 'base_url', env: 'SCORPIO_BASE_URL', kind: 'string' },
  { key: 'mega', toml: 'mega', env: 'SCORPIO_MEGA', kind: 'boolean' },
  { key: 'path', toml: 'path', env: 'SCORPIO_PATH', kind: 'string' },
  { key: 'rev', toml: 'rev', env: 'SCORPIO_REV', kind: 'string' },
  { key: 'cache', toml: 'cache', env: 'SCORPIO_CACHE', kind: 'path' },
  { key: 'state', toml: 'state', env: 'SCORPIO_STATE', kind: 'path' },
  { key: 'upper', toml: 'upper', env: 'SCORPIO_UPPER', kind: 'path' },
  { key: 'cl', toml: 'cl', env: 'SCORPIO_CL', kind: 'string' },
  { key: 'allowOther', toml: 'allow_other', env: 'SCORPIO_ALLOW_OTHER', kind: 'boolean' },
  { key: 'debug', toml: 'debug', env: 'SCORPIO_DEBUG', kind: 'boolean' },
  { key: 'requestTimeout', toml: 'request_timeout', env: 'SCORPIO_REQUEST_TIMEOUT', kind: 'number' },
]

export const SETTINGS_KEYS: readonly string[] = [...KEYS.map((k) => k.toml), 'user.name', 'user.email']

export interface LoadSettingsOptions {
  cwd?: string
  env?: Record<string, string | undefined>
  /** Explicit config file (also `SCORPIO_CONFIG`); then no lookup happens. */
  file?: string
}

export interface LoadedSettings {
  settings: Settings
  /** The config file that was read, if any. */
  file?: string
}

/** Where `scorpio.toml` is looked up: the current directory, then $XDG_CONFIG_HOME/scorpio/. */
export function configCandidates(options: LoadSettingsOptions = {}): string[] {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const configHome = env.XDG_CONFIG_HOME || join(env.HOME || homedir(), '.config')
  return [join(cwd, 'scorpio.toml'), join(configHome, 'scorpio', 'scorpio.toml')]
}

/** Reads and validates one config file. Relative paths in it are relative to the file. */
export function readConfigFile(file: string): Settings {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new UsageError(`Cannot read config file "${file}": ${(err as Error).message}`)
  }
  let doc: Record<string, unknown>
  try {
    doc = parse(text) as Record<string, unknown>
  } catch (err) {
    const msg = err instanceof TomlError ? `line ${err.line}: ${err.message.split('\n')[0]}` : String(err)
    throw new UsageError(`Invalid TOML in "${file}" (${msg})`)
  }
  const out: Settings = {}
  for (const [name, value] of Object.entries(doc)) {
    if (name === 'user') {
      out.user = readUserTable(file, value)
      continue
    }
    const spec = KEYS.find((k) => k.toml === name)
    if (!spec) throw new UsageError(`Unknown key "${name}" in "${file}"; known keys: ${SETTINGS_KEYS.join(', ')}`)
    ;(out as Record<string, unknown>)[spec.key] = checkValue(file, name, spec.kind, value, dirname(file))
  }
  return out
}

function readUserTable(file: string, value: unknown): UserSettings {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new UsageError(`"user" in "${file}" must be a table with name and email`)
  }
  const user: UserSettings = {}
  for (const [k, v] of Object.entries(value)) {
    if (k !== 'name' && k !== 'email') throw new UsageError(`Unknown key "user.${k}" in "${file}"; known: user.name, user.email`)
    if (typeof v !== 'string') throw new UsageError(`"user.${k}" in "${file}" must be a string`)
    user[k] = v
  }
  return user
}

function checkValue(file: string, name: string, kind: Kind, value: unknown, base: string): unknown {
  if (kind === 'boolean') {
    if (typeof value !== 'boolean') throw new UsageError(`"${name}" in "${file}" must be true or false`)
    return value
  }
  if (kind === 'number') {
    if (typeof value !== 'number' || !(value > 0)) throw new UsageError(`"${name}" in "${file}" must be a positive number`)
    return value
  }
  if (typeof value !== 'string' || value === '') throw new UsageError(`"${name}" in "${file}" must be a non-empty string`)
  return kind === 'path' ? resolve(base, expandHome(value)) : value
}

function parseBool(name: string, value: string): boolean {
  if (/^(1|true|yes|on)$/i.test(value)) return true
  if (/^(0|false|no|off)$/i.test(value)) return false
  throw new UsageError(`${name}="${value}" is not a boolean; use 1 or 0`)
}

/** Settings from `SCORPIO_*` variables. Relative paths are relative to `cwd`. */
export function settingsFromEnv(options: LoadSettingsOptions = {}): Settings {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  const out: Settings = {}
  for (const spec of KEYS) {
    const raw = env[spec.env]
    if (raw === undefined || raw === '') continue
    let value: unknown = raw
    if (spec.kind === 'boolean') value = parseBool(spec.env, raw)
    else if (spec.kind === 'number') {
      value = Number(raw)
      if (!((value as number) > 0)) throw new UsageError(`${spec.env}="${raw}" must be a positive number`)
    } else if (spec.kind === 'path') value = resolve(cwd, expandHome(raw))
    ;(out as Record<string, unknown>)[spec.key] = value
  }
  const name = env.SCORPIO_USER_NAME || undefined
  const email = env.SCORPIO_USER_EMAIL || undefined
  if (name || email) out.user = { ...(name ? { name } : {}), ...(email ? { email } : {}) }
  return out
}

function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p
}

/** Later sources win; `undefined` never overrides. `user` merges field by field. */
export function mergeSettings(...sources: Settings[]): Settings {
  const out: Settings = {}
  for (const src of sources) {
    for (const [k, v] of Object.entries(src)) {
      if (v === undefined) continue
      if (k === 'user') out.user = { ...out.user, ...(v as UserSettings) }
      else (out as Record<string, unknown>)[k] = v
    }
  }
  return out
}

/** Config file, then environment, then `flags` (already parsed; relative paths resolved by the caller or here against cwd). */
export function loadSettings(flags: Settings = {}, options: LoadSettingsOptions = {}): LoadedSettings {
  const env = options.env ?? process.env
  const cwd = options.cwd ?? process.cwd()
  let file = options.file ?? (env.SCORPIO_CONFIG || undefined)
  if (file) file = resolve(cwd, file)
  else file = configCandidates({ cwd, env }).find((f) => existsSync(f))
  const fromFile = file ? readConfigFile(file) : {}
  const resolvedFlags: Settings = { ...flags }
  for (const spec of KEYS) {
    const v = resolvedFlags[spec.key]
    if (spec.kind === 'path' && typeof v === 'string') (resolvedFlags as Record<string, unknown>)[spec.key] = resolve(cwd, v)
  }
  return { settings: mergeSettings(fromFile, settingsFromEnv({ cwd, env }), resolvedFlags), file }
}
