import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { compileGlob, hasGlob } from '../../lib/mount/glob.ts'

const cases: [string, string, boolean][] = [
  ['*.ts', 'a.ts', true],
  ['*.ts', 'src/deep/a.ts', true],
  ['*.ts', 'a.tsx', false],
  ['src/*.ts', 'src/a.ts', true],
  ['src/*.ts', 'src/x/a.ts', false],
  ['src/*.ts', 'lib/src/a.ts', false],
  ['src/**/*.ts', 'src/a.ts', true],
  ['src/**/*.ts', 'src/x/y/a.ts', true],
  ['**/test', 'a/b/test/x.js', true],
  ['docs', 'docs/readme.md', true],
  ['docs', 'pkg/docs/readme.md', true],
  ['docs/', 'docs/readme.md', true],
  ['pkg?', 'pkg1/a', true],
  ['pkg?', 'pkg10/a', false],
  ['pkg[0-2]', 'pkg1/a', true],
  ['pkg[!0-2]', 'pkg1/a', false],
  ['a/**', 'a/b/c', true],
  ['a/**', 'b/a/c', false],
  ['file.txt', 'file_txt', false],
]

test('gitignore-style matching', () => {
  for (const [glob, path, want] of cases) assert.is(compileGlob(glob)(path), want, `${glob} vs ${path}`)
})

test('hasGlob tells plain paths from patterns', () => {
  assert.ok(hasGlob('*.ts'))
  assert.ok(hasGlob('a/[ab]'))
  assert.not.ok(hasGlob('packages/pkg001'))
})

test.run()
