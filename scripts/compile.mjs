// Builds the single executable dist/scorpio with `bun build --compile` (works offline; `deno compile`
// needs a runtime download these machines cannot make). The binary needs no node_modules and no Node.
// `--bytecode` stores the bundle precompiled, so the binary does not parse its ~1 MB of JavaScript at
// every start: `scorpio --version` goes from ~45 ms to ~17 ms, which short commands (status) feel.
// `--splitting` keeps each subcommand's modules in their own chunks, loaded when it runs: without it
// every start loads the bytecode of the whole bundle (`--version` 63 → 47 ms of CPU, 2026-12-04).
// The binary reads no .env or bunfig.toml from the user's directory: its environment is the user's.
//   node scripts/compile.mjs [ENTRY OUTFILE]   (default cli/main.ts dist/scorpio; run from the repository root)
// Benchmarks build their measured children with it, so that they run as the shipped binary does.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'))
const [entry = 'cli/main.ts', outfile = join('dist', 'scorpio')] = process.argv.slice(2)
const bun = join('node_modules', '.bin', 'bun')
execFileSync(bun, [
  'build', '--compile', '--bytecode', '--splitting', '--format=esm', '--minify-syntax', '--sourcemap=none',
  '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig',
  '--define', `SCORPIO_VERSION=${JSON.stringify(pkg.version)}`,
  entry, '--outfile', outfile,
], { stdio: 'inherit' })
console.log(`built ${outfile}`)
