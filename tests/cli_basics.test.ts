import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execFileSync, spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'

const bin = 'dist/scorpio.mjs'
const pkg = JSON.parse(readFileSync('package.json', 'utf8'))

test('--version prints the package version', () => {
  assert.is(execFileSync(process.execPath, [bin, '--version']).toString().trim(), pkg.version)
})

test('--help lists the description and exits 0', () => {
  const out = execFileSync(process.execPath, [bin, '--help']).toString()
  assert.match(out, /Mount a remote Git monorepo/)
})

test('an unknown command is a usage error: exit 2, one line on stderr', () => {
  const r = spawnSync(process.execPath, [bin, 'no-such-command'])
  assert.is(r.status, 2)
  const lines = r.stderr.toString().trim().split('\n')
  assert.is(lines.length, 1)
  assert.match(lines[0], /^scorpio: unknown command 'no-such-command'/)
})

test.run()
