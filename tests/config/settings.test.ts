import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadSettings } from '../../lib/config/mod.ts'
import { UsageError } from '../../lib/errors.ts'

const root = mkdtempSync(join(tmpdir(), 'scorpio-config-'))
const cwd = join(root, 'proj')
const xdg = join(root, 'xdg')
mkdirSync(cwd, { recursive: true })
mkdirSync(join(xdg, 'scorpio'), { recursive: true })

test('cwd scorpio.toml wins over XDG; env over file; flags over env', () => {
  writeFileSync(join(xdg, 'scorpio', 'scorpio.toml'), 'base_url = "http://xdg/r.git"\nrev = "xdg"\n')
  writeFileSync(join(cwd, 'scorpio.toml'), 'base_url = "http://cwd/r.git"\nrev = "file"\ncache = "c"\nallow_other = true\n[user]\nname = "A"\nemail = "a@x"\n')
  const env = { XDG_CONFIG_HOME: xdg, SCORPIO_REV: 'env', SCORPIO_USER_EMAIL: 'e@x' }
  const { settings, file } = loadSettings({ rev: 'flag', upper: 'up' }, { cwd, env })
  assert.is(file, join(cwd, 'scorpio.toml'))
  assert.is(settings.baseUrl, 'http://cwd/r.git')
  assert.is(settings.rev, 'flag')
  assert.is(settings.cache, join(cwd, 'c'))
  assert.is(settings.upper, join(cwd, 'up'))
  assert.is(settings.allowOther, true)
  assert.equal(settings.user, { name: 'A', email: 'e@x' })
  const envOnly = loadSettings({}, { cwd, env })
  assert.is(envOnly.settings.rev, 'env')
})

test('XDG file is used when cwd has none', () => {
  rmSync(join(cwd, 'scorpio.toml'))
  const { settings, file } = loadSettings({}, { cwd, env: { XDG_CONFIG_HOME: xdg } })
  assert.is(file, join(xdg, 'scorpio', 'scorpio.toml'))
  assert.is(settings.baseUrl, 'http://xdg/r.git')
})

test('unknown keys, bad types and bad TOML are one-line usage errors naming the file', () => {
  for (const [text, re] of [
    ['bogus = 1\n', /Unknown key "bogus"/],
    ['mega = "yes"\n', /"mega" .* must be true or false/],
    ['base_url = \n', /Invalid TOML/],
  ] as const) {
    writeFileSync(join(cwd, 'scorpio.toml'), text)
    try {
      loadSettings({}, { cwd, env: {} })
      assert.unreachable('should throw')
    } catch (err) {
      assert.instance(err, UsageError)
      assert.match((err as Error).message, re)
      assert.ok(!(err as Error).message.includes('\n'))
    }
  }
  rmSync(join(cwd, 'scorpio.toml'))
})

test('SCORPIO_* booleans accept 1/0 and refuse nonsense', () => {
  assert.is(loadSettings({}, { cwd, env: { SCORPIO_MEGA: '1' } }).settings.mega, true)
  assert.is(loadSettings({}, { cwd, env: { SCORPIO_MEGA: 'off' } }).settings.mega, false)
  assert.throws(() => loadSettings({}, { cwd, env: { SCORPIO_MEGA: 'maybe' } }), /SCORPIO_MEGA/)
})

test.after(() => rmSync(root, { recursive: true, force: true }))
test.run()
