// Script ergonomics across every command (docs/exit-codes.md, CLI.md): --help exits 0, a bad
// option is a usage error (exit 2) with a short error and no stack trace, reporting commands offer
// --json and print one JSON document, and nothing carries ANSI colours when stdout is not a TTY.
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { runCli } from '../antares/_env.ts'

const home = mkdtempSync(join(tmpdir(), 'scorpio-ergonomics-'))
const env: NodeJS.ProcessEnv = {
  ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('SCORPIO_') && k !== 'NO_COLOR' && k !== 'FORCE_COLOR')),
  XDG_STATE_HOME: join(home, 'state'),
  XDG_CACHE_HOME: join(home, 'cache'),
  XDG_CONFIG_HOME: join(home, 'config'),
}
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[/
/** Commands that report something a script would parse. */
const REPORTING = ['list', 'status', 'log', 'commit', 'push', 'checkout', 'prefetch', 'gc', 'antares serve']

let commands: string[] = []

test('scorpio --help lists the commands, exit 0, no colours', async () => {
  const r = await runCli(['--help'], { env, cwd: home })
  assert.is(r.status, 0)
  assert.not.match(r.stdout, ANSI)
  const section = r.stdout.split(/^Commands:$/m)[1] ?? ''
  commands = section.split('\n').map((l) => l.trim().split(/[\s|]/)[0]).filter((c) => c && c !== 'help')
  for (const c of ['mount', 'umount', 'list', 'status', 'diff', 'commit', 'push', 'antares']) assert.ok(commands.includes(c), `${c} is a command`)
})

// docs/cli.md is the reference scripts read: a command or flag missing there is a bug of the docs.
test('docs/cli.md has a section for every command and names every flag of its --help', async () => {
  const doc = readFileSync(join(process.cwd(), 'docs', 'cli.md'), 'utf8')
  const sections = doc.split(/^#{2,3} /m).slice(1).map((s) => ({ title: s.split('\n')[0], body: s }))
  for (const c of [...commands, 'antares serve']) {
    const section = sections.find((s) => s.title.includes(`scorpio ${c}`))
    assert.ok(section, `docs/cli.md: no section titled with \`scorpio ${c} ...\`; add one`)
    const help = (await runCli([...c.split(' '), '--help'], { env, cwd: home })).stdout
    for (const flag of new Set(help.match(/--[a-z][a-z-]+/g) ?? [])) {
      if (flag === '--help') continue
      assert.ok(section!.body.includes(flag), `docs/cli.md, section "${section!.title}": ${c} ${flag} is not documented`)
    }
  }
})

test('every command: --help exits 0 on stdout without colours', async () => {
  for (const c of [...commands, 'antares serve']) {
    const r = await runCli([...c.split(' '), '--help'], { env, cwd: home })
    assert.is(r.status, 0, `${c} --help: ${r.stderr}`)
    assert.match(r.stdout, /^Usage: scorpio /, c)
    assert.not.match(r.stdout + r.stderr, ANSI, c)
  }
})

test('every command: an unknown option is exit 2 with an error line and no stack trace', async () => {
  for (const c of [...commands, 'antares serve']) {
    const r = await runCli([...c.split(' '), '--no-such-option-xyz'], { env, cwd: home })
    assert.is(r.status, 2, `${c}: exit ${r.status}`)
    const lines = r.stderr.trim().split('\n')
    assert.match(lines[0], /^(error|scorpio): /, c)
    assert.ok(lines.length <= 2, `${c}: at most an error line and a hint, got ${JSON.stringify(r.stderr)}`)
    assert.not.match(r.stderr, /^\s+at /m, `${c}: no stack trace`)
    assert.is(r.stdout, '', `${c}: nothing on stdout`)
  }
})

test('reporting commands offer --json', async () => {
  for (const c of REPORTING) {
    const r = await runCli([...c.split(' '), '--help'], { env, cwd: home })
    assert.match(r.stdout, /--json/, `${c} --help mentions --json`)
  }
})

test('list --json prints exactly one JSON document; NO_COLOR and a pipe change nothing', async () => {
  for (const extra of [{}, { NO_COLOR: '1' }]) {
    const r = await runCli(['list', '--json'], { env: { ...env, ...extra }, cwd: home })
    assert.is(r.status, 0, r.stderr)
    assert.equal(JSON.parse(r.stdout), { mounts: [] })
    assert.is(r.stdout.trim().split('\n').length, 1)
  }
})

test('a workspace command outside a workspace: exit 2, one line', async () => {
  const r = await runCli(['status', '--json'], { env, cwd: home })
  assert.is(r.status, 2)
  assert.is(r.stdout, '')
  assert.is(r.stderr.trim().split('\n').length, 1)
  assert.match(r.stderr, /^scorpio: /)
})

test('umount of a directory with nothing mounted: exit 0 with a notice', async () => {
  const r = await runCli(['umount', home], { env, cwd: home })
  assert.is(r.status, 0, r.stderr)
  assert.match(r.stderr, /nothing is mounted/)
})

test('antares: a non-loopback bind without a token and a missing subcommand are usage errors', async () => {
  const r = await runCli(['antares', 'serve', 'http://127.0.0.1:9/repo.git', '--bind', '0.0.0.0:0'], { env, cwd: home })
  assert.is(r.status, 2)
  assert.match(r.stderr, /^scorpio: Refusing to serve antares on 0\.0\.0\.0:0 without a token/)
  const s = await runCli(['antares'], { env, cwd: home })
  assert.is(s.status, 2)
  assert.match(s.stderr, /Missing subcommand/)
})

test.after(() => rmSync(home, { recursive: true, force: true }))

test.run()
