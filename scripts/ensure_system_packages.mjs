// Part of `npm ci` (prepare): installs the Debian packages the tests and benchmarks use, when they
// are missing and we may (root + apt-get). Elsewhere it only says what to install.
import { execFileSync, spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const needs = [
  { pkg: 'fuse3', check: () => existsSync('/usr/bin/fusermount3'), why: 'unprivileged mounts' },
  { pkg: 'attr', check: () => existsSync('/usr/bin/setfattr'), why: 'xattr tests (setfattr/getfattr)' },
  { pkg: 'libfuse3-dev', check: () => existsSync('/usr/include/fuse3/fuse_lowlevel.h'), why: 'the libfuse3 baseline in npm run bench' },
  { pkg: 'pkg-config', check: () => spawnSync('pkg-config', ['--version']).status === 0, why: 'building the libfuse3 baseline' },
]
const missing = needs.filter((n) => !n.check())
if (missing.length === 0 || process.env.SCORPIO_SKIP_APT === '1') process.exit(0)
const names = missing.map((n) => n.pkg)
const isRoot = typeof process.getuid === 'function' && process.getuid() === 0
if (!isRoot || !existsSync('/usr/bin/apt-get')) {
  console.warn(`scorpio: missing Debian packages ${names.join(' ')} (${missing.map((n) => n.why).join('; ')}); install them with: sudo apt-get install ${names.join(' ')}`)
  process.exit(0)
}
console.log(`scorpio: installing ${names.join(' ')} with apt-get`)
try {
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
  execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env })
  execFileSync('apt-get', ['install', '-y', '-qq', ...names], { stdio: ['ignore', 'ignore', 'inherit'], env })
} catch (e) {
  console.warn(`scorpio: apt-get install ${names.join(' ')} failed (${e.message.split('\n')[0]}); install them by hand`)
}
