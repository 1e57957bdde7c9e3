#!/usr/bin/env node
// The project's own repository generator: a deterministic synthetic monorepo, written as a bare Git
// repository through one `git fast-import` stream (no per-commit process), configured to be served by
// `git http-backend` with partial clone, wants by id, pushes and object-info.
//
//   node scripts/gen_monorepo.mjs OUT.git [--files N] [--commits K] [--touch T] [--seed S]
//        [--median BYTES] [--big-every M] [--huge-dirs H] [--huge-size E] [--merge-every G]
//        [--per-package P] [--width W]
//
// Shape (same seed, same repository, byte for byte):
// - packages/pkgNNNN/{src,lib,test,docs}/ nested 1-5 levels (d0..d<W-1>, --width 6), ~--per-package
//   (400) files per package. The defaults give about one directory per file; a real tree has ~10
//   files per directory (e.g. --per-package 4000 --width 3, as the 1M-file benchmark uses);
// - text sizes drawn from a log-normal around --median (3000), capped at 512 KiB; one binary of
//   1-8 MiB every --big-every files (5000; 0: none); an executable every 997 files, a symlink every
//   2003, an empty file every 1009;
// - --huge-dirs directories of --huge-size entries each (generated/gNN/, flat): the kind of directory
//   a real monorepo has (vendored or generated code). Default: one per 300,000 files;
// - history: commit 1 imports the tree; each later commit edits --touch files (default 0.5% of
//   them), and every 10th also adds a file, every 25th deletes one; every --merge-every commits (0:
//   never) a side branch commit is merged, so history is not a straight line.
import { spawn, execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'

const USAGE = 'usage: gen_monorepo.mjs OUT.git [--files N] [--commits K] [--touch T] [--seed S] [--median BYTES] [--big-every M] [--huge-dirs H] [--huge-size E] [--merge-every G] [--per-package P] [--width W]'
const argv = process.argv.slice(2)
const positional = []
const flags = new Map()
for (let i = 0; i < argv.length; i++) {
  const a = argv[i]
  if (!a.startsWith('--')) { positional.push(a); continue }
  const v = Number(argv[++i])
  if (!Number.isInteger(v) || v < 0) fail(`${a} wants a whole number, got ${argv[i] ?? 'nothing'}; ${USAGE}`)
  flags.set(a.slice(2), v)
}
const known = ['files', 'commits', 'touch', 'seed', 'median', 'big-every', 'huge-dirs', 'huge-size', 'merge-every', 'per-package', 'width']
for (const k of flags.keys()) if (!known.includes(k)) fail(`unknown option --${k}; ${USAGE}`)
if (positional.length !== 1) fail(USAGE)
const out = positional[0]
const num = (k, d) => flags.get(k) ?? d

const files = Math.max(1, num('files', 10000))
const commits = Math.max(1, num('commits', 1))
const touch = Math.max(1, num('touch', Math.round(files * 0.005)))
const median = Math.max(1, num('median', 3000))
const bigEvery = num('big-every', 5000)
const hugeDirs = num('huge-dirs', Math.floor(files / 300000))
const hugeSize = Math.max(1, num('huge-size', 12000))
const mergeEvery = num('merge-every', 0)
const perPackage = Math.max(1, num('per-package', 400))
const width = Math.max(1, num('width', 6))
let state = (num('seed', 42) ^ 0x9e3779b9) >>> 0

function fail(message) {
  console.error(`gen_monorepo: ${message}`)
  process.exit(2)
}

/** xorshift32: small, fast, and the same numbers on every machine. */
function next() {
  state ^= state << 13; state >>>= 0
  state ^= state >>> 17
  state ^= state << 5; state >>>= 0
  return state
}
const uniform = () => next() / 4294967296
const pick = (n) => Math.floor(uniform() * n)
function logNormal(mid, sigma) {
  // Box-Muller: one normal deviate from two uniforms.
  const z = Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())
  return Math.max(0, Math.round(mid * Math.exp(sigma * z)))
}

// Text is assembled from a pool of pseudo-source lines (fast: no per-byte work), headed by a line
// naming the file and revision so that no two blobs are equal by accident.
const vocab = ['const', 'return', 'value', 'index', 'buffer', 'result', 'config', 'handler', 'module',
  'export', 'import', 'struct', 'error', 'await', 'string', 'number', 'client', 'request', 'stream', 'node']
const pool = []
for (let i = 0; i < 2048; i++) {
  const indent = '  '.repeat(pick(4))
  const w = () => vocab[pick(vocab.length)]
  pool.push(Buffer.from(`${indent}${w()} ${w()}_${pick(1000)} = ${w()}(${w()}, ${pick(100000)}) // ${w()} ${w()}\n`))
}
function text(size, tag) {
  const parts = [Buffer.from(`// ${tag}\n`)]
  let n = parts[0].length
  while (n < size) { const l = pool[pick(pool.length)]; parts.push(l); n += l.length }
  return Buffer.concat(parts, n).subarray(0, Math.max(size, 0))
}
function binary(size) {
  const words = new Uint32Array(Math.ceil(size / 4))
  for (let i = 0; i < words.length; i++) words[i] = next()
  return Buffer.from(words.buffer, 0, size)
}

// The tree of the first commit.
const exts = ['.ts', '.go', '.rs', '.py', '.c', '.h', '.json', '.md', '.txt', '.java']
const kinds = ['src', 'lib', 'test', 'docs']
const packages = Math.max(1, Math.round(files / perPackage))
const hugeFiles = Math.min(files, hugeDirs * hugeSize)
const paths = []
for (let i = 0; i < files - hugeFiles; i++) {
  const segs = ['packages', `pkg${String(pick(packages)).padStart(4, '0')}`, kinds[pick(kinds.length)]]
  for (let d = pick(5); d > 0; d--) segs.push(`d${pick(width)}`)
  segs.push(`f${i}${exts[i % exts.length]}`)
  paths.push(segs.join('/'))
}
for (let i = 0; i < hugeFiles; i++) {
  paths.push(`generated/g${String(Math.floor(i / hugeSize)).padStart(2, '0')}/item${String(i % hugeSize).padStart(6, '0')}.json`)
}

if (existsSync(out)) fail(`${out} already exists; remove it or choose another path`)
execFileSync('git', ['init', '-q', '--bare', out])
for (const [k, v] of [['uploadpack.allowFilter', 'true'], ['uploadpack.allowAnySHA1InWant', 'true'],
  ['uploadpack.allowReachableSHA1InWant', 'true'], ['http.receivepack', 'true'],
  ['receive.denyNonFastforwards', 'false'], ['transfer.advertiseObjectInfo', 'true']]) {
  execFileSync('git', ['-C', out, 'config', k, v])
}

const importer = spawn('git', ['-C', out, '-c', 'pack.compression=1', 'fast-import', '--quiet', '--done'], { stdio: ['pipe', 'inherit', 'inherit'] })
const exited = new Promise((resolve, reject) => importer.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`git fast-import exited with ${code}`)))))
// Writes are gathered into large chunks: one pipe write per few MB, not per line.
let chunks = []
let queued = 0
async function emit(data) {
  const b = typeof data === 'string' ? Buffer.from(data) : data
  chunks.push(b)
  queued += b.length
  if (queued >= 4 << 20) await flush()
}
async function flush() {
  if (!queued) return
  const all = Buffer.concat(chunks, queued)
  chunks = []
  queued = 0
  if (!importer.stdin.write(all)) await new Promise((r) => importer.stdin.once('drain', r))
}
async function file(mode, path, content) {
  await emit(`M ${mode} inline ${path}\ndata ${content.length}\n`)
  await emit(content)
  await emit('\n')
}
let when = 1700000000
async function header(ref, mark, message, parents) {
  when += 600 + pick(7200)
  const who = `dev${pick(40)}`
  await emit(`commit ${ref}\nmark :${mark}\nauthor ${who} <${who}@example.com> ${when} +0000\ncommitter ${who} <${who}@example.com> ${when} +0000\ndata ${Buffer.byteLength(message)}\n${message}\n`)
  if (parents[0]) await emit(`from :${parents[0]}\n`)
  for (const p of parents.slice(1)) await emit(`merge :${p}\n`)
}
const edit = (i, rev) => text(Math.min(logNormal(median, 1.0), 512 * 1024), `${paths[i]} rev ${rev}`)

await header('refs/heads/main', 1, 'initial import', [])
await file('100644', 'README.md', Buffer.from(`# synthetic monorepo\n\n${files} files, generated by scripts/gen_monorepo.mjs\n`))
for (let i = 0; i < paths.length; i++) {
  const big = bigEvery > 0 && i % bigEvery === bigEvery - 1
  const content = big ? binary(1 + pick(8 << 20)) : i % 1009 === 1008 ? Buffer.alloc(0) : text(Math.min(logNormal(median, 1.2), 512 * 1024), paths[i])
  await file(i % 997 === 0 ? '100755' : '100644', paths[i], content)
  if (i % 2003 === 0) await file('120000', `${paths[i]}.link`, Buffer.from(paths[i].slice(paths[i].lastIndexOf('/') + 1)))
}
let head = 1
let mark = 1
const deleted = new Set()
// A path not deleted and not yet written in this commit (a second write would orphan the first blob).
let written = new Set()
const live = () => { let i; do i = pick(paths.length); while (deleted.has(i) || written.has(i)); written.add(i); return i }
for (let c = 1; c < commits; c++) {
  const parents = [head]
  written = new Set()
  let sideEdit = null
  if (mergeEvery > 0 && c % mergeEvery === 0) {
    await header('refs/heads/side', ++mark, `side work ${c}`, [head])
    const i = live()
    sideEdit = [paths[i], edit(i, `side${c}`)]
    await file('100644', ...sideEdit)
    parents.push(mark)
  }
  await header('refs/heads/main', ++mark, sideEdit ? `merge side work ${c}` : `change ${c}`, parents)
  // fast-import starts a merge from its first parent's tree: the side's edit is carried over here.
  if (sideEdit) await file('100644', ...sideEdit)
  else for (let j = 0; j < Math.min(touch, paths.length - deleted.size - 1); j++) { const i = live(); await file('100644', paths[i], edit(i, c)) }
  if (c % 25 === 0 && paths.length - deleted.size > written.size + 1) {
    const i = live()
    deleted.add(i)
    await emit(`D ${paths[i]}\n`)
  }
  if (c % 10 === 0) {
    paths.push(`packages/pkg${String(pick(packages)).padStart(4, '0')}/src/added${c}.ts`)
    await file('100644', paths[paths.length - 1], edit(paths.length - 1, c))
  }
  head = mark
}
await emit('done\n')
await flush()
importer.stdin.end()
await exited
execFileSync('git', ['-C', out, 'symbolic-ref', 'HEAD', 'refs/heads/main'])
if (mergeEvery > 0 && commits > mergeEvery) execFileSync('git', ['-C', out, 'update-ref', '-d', 'refs/heads/side'])
const sha = execFileSync('git', ['-C', out, 'rev-parse', 'HEAD']).toString().trim()
console.log(`${out}: ${files} files, ${commits} commit(s), head ${sha}`)
