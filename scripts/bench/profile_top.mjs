// Reads a .cpuprofile (Node's --cpu-prof, or Bun's: BUN_OPTIONS="--cpu-prof --cpu-prof-dir=DIR")
// and prints where the samples fell: by function (self), by function and all it called (--incl),
// or the callers of one function (--callers NAME). Samples are counted, idle ones left out: Bun
// samples only while JavaScript runs, so the time between samples is no measure there.
//   node scripts/bench/profile_top.mjs FILE [--incl] [--callers NAME] [--top N]
import { readFileSync } from 'node:fs'

const args = process.argv.slice(2)
const opt = (name) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined)
const profile = JSON.parse(readFileSync(args[0], 'utf8'))
const top = Number(opt('--top') ?? 30)
const byId = new Map(profile.nodes.map((n) => [n.id, n]))
const parent = new Map()
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
const name = (n) => `${n.callFrame.functionName || '(anonymous)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber + 1}`
const idle = new Set(['(idle)', '(program)', '(root)'])
const counts = new Map()
let busy = 0
const add = (key) => counts.set(key, (counts.get(key) ?? 0) + 1)
for (const id of profile.samples) {
  const leaf = byId.get(id)
  if (idle.has(leaf.callFrame.functionName)) continue
  busy++
  const callers = opt('--callers')
  if (callers) {
    if (leaf.callFrame.functionName !== callers) continue
    const chain = []
    for (let x = parent.get(id); x !== undefined && chain.length < 5; x = parent.get(x)) chain.push(name(byId.get(x)))
    add(chain.join(' < '))
  } else if (args.includes('--incl')) {
    const seen = new Set()
    for (let x = id; x !== undefined; x = parent.get(x)) {
      const k = name(byId.get(x))
      if (!seen.has(k)) seen.add(k), add(k)
    }
  } else add(name(leaf))
}
console.log(`${busy} samples while busy`)
for (const [k, n] of [...counts].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`${String(n).padStart(7)} ${((100 * n) / busy).toFixed(1).padStart(5)}%  ${k}`)
