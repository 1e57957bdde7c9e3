// `npm run bench`: runs every benchmark script in its own process, one after the other (each
// compares Scorpio with its baseline inside its own run), and prints their markdown tables.
//
//   npm run bench [-- --only fuse,remote,mount,workspace,antares,bigtree,shared,coldread,history] [--files N] [--out FILE]
// (bigtree: the 1,000,000-file repository, generated once into bench-data/mono1m.git; history: the
// real babel repository and a generated 400-commit one; --files applies to neither)
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'

const ALL = ['fuse', 'remote', 'mount', 'workspace', 'antares', 'bigtree', 'shared', 'coldread', 'history']
const args = process.argv.slice(2)
const value = (name: string) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined }
const only = value('--only')?.split(',') ?? ALL
const files = value('--files')
const out = value('--out')

function runOne(name: string): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    const argv = ['--import', 'tsx', `scripts/bench/${name}_bench.ts`]
    if (files && name !== 'fuse' && name !== 'bigtree' && name !== 'coldread') argv.push('--files', files)
    const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'inherit'] })
    let stdout = ''
    child.stdout.on('data', (d) => { stdout += d; process.stdout.write(d) })
    child.on('close', (code) => resolve({ code: code ?? 1, stdout }))
  })
}

const sections: string[] = [`Run of ${new Date().toISOString()} on ${process.platform}, node ${process.version}.`]
let failed = 0
for (const name of only) {
  if (!ALL.includes(name)) { console.error(`Unknown benchmark '${name}': pick from ${ALL.join(', ')}`); process.exit(2) }
  console.log(`\n## ${name}`)
  const { code, stdout } = await runOne(name)
  if (code !== 0) failed++
  sections.push(`## ${name}\n\n${code === 0 ? stdout.trim() : `failed (exit ${code})`}`)
}
if (out) writeFileSync(out, sections.join('\n\n') + '\n')
process.exit(failed ? 1 : 0)
