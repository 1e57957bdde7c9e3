// Builds the single executable dist/scorpio with `bun build --compile` (works offline; `deno compile`
// needs a runtime download these machines cannot make). The binary needs no node_modules and no Node.
// `--bytecode` stores the bundle precompiled, so the binary does not parse its ~1 MB of JavaScript at
// every start: `scorpio --version` goes from ~45 ms to ~17 ms, which short commands (status) feel.
//   node scripts/compile.mjs [ENTRY OUTFILE]   (default cli/main.ts dist/scorpio; run from the repository root)
// Benchmarks build their measured children with it, so that they run as the shipped binary does.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const [entry = 'cli/main.ts', outfile = join('dist', 'scorpio')] = process.argv.slice(2)
const bun = join('node_modules', '.bin', 'bun')
execFileSync(bun, [
  'build', '--compile', '--bytecode', '--format=esm', '--minify-syntax', '--sourcemap=none',
  '--define', `SCORPIO_VERSION=${JSON.stringify(pkg.version)}`,
  entry, '--outfile', outfile,
], { stdio: 'inherit' })
console.log(`built ${outfile}`)
