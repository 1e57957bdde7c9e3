// `npm run demo`: generates a 10,000-file monorepo (once, into .cache/demo/), serves it with
// git http-backend on 127.0.0.1, mounts it at ./demo-ws in the foreground and prints what to try.
// Ctrl-C unmounts and stops the server. The mount is --ephemeral (the server's port, hence the
// remote URL, changes every run): edits made during the demo go away with it.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { startGitServer } from '../tests/helpers/git_server.ts'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..')
const generator = join(root, 'scripts', 'gen_monorepo.mjs')
const dataDir = join(root, '.cache', 'demo')
const repoName = 'monorepo.git'
const repo = join(dataDir, repoName)
const mountpoint = join(root, 'demo-ws')
const cli = join(root, 'dist', 'scorpio.mjs')

function fail(message: string): never {
  console.error(`demo: ${message}`)
  process.exit(1)
}

if (!existsSync(repo)) {
  mkdirSync(dataDir, { recursive: true })
  console.log('demo: generating a 10,000-file repository (once)...')
  execFileSync(process.execPath, [generator, repo, '--files', '10000'], { stdio: 'inherit' })
}
console.log('demo: building the CLI...')
execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs')], { cwd: root, stdio: 'inherit' })
mkdirSync(mountpoint, { recursive: true })

const server = await startGitServer(dataDir)
const url = server.url(repoName)
const rel = relative(process.cwd(), mountpoint) || '.'
console.log(`demo: serving ${repo} at ${url}`)

const child = spawn(process.execPath, [cli, 'mount', url, mountpoint, '--ephemeral'], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] })
let ready = false
child.stdout.setEncoding('utf8')
child.stdout.on('data', (chunk: string) => {
  process.stdout.write(chunk)
  if (!ready && chunk.includes('ready ')) {
    ready = true
    const pkgs = readdirSync(join(mountpoint, 'packages')).slice(0, 1)
    const pkg = pkgs[0] ? `packages/${pkgs[0]}` : 'packages'
    const tries: [string, string][] = [
      [`ls ${rel}/${pkg}`, 'the tree is there; no file contents fetched yet'],
      [`find ${rel} -type f | wc -l`, 'about 10,000 files'],
      [`cat ${rel}/${pkg}/src/* | head`, 'contents arrive on first read'],
      [`(cd ${rel}/${pkg} && npx scorpio prefetch --json)`, 'a whole package in one batch'],
      [`echo hi > ${rel}/new.txt && (cd ${rel} && npx scorpio status)`, 'edits stay local'],
      ['npx scorpio list', 'the mounts on this machine'],
    ]
    const width = Math.max(...tries.map(([c]) => c.length)) + 2
    console.log(`\nMounted ${url} at ./${rel} (server requests so far: ${server.requests}, ${server.bytesSent} bytes).`)
    console.log('Try, in another terminal:')
    for (const [cmd, why] of tries) console.log(`  ${cmd.padEnd(width)}# ${why}`)
    console.log('Press Ctrl-C here to unmount and stop the server (the demo mount is ephemeral).')
  }
})

let stopping = false
const stop = (): void => {
  if (stopping) return
  stopping = true
  console.log('\ndemo: unmounting...')
  child.kill('SIGTERM')
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)

const code = await new Promise<number>((r) => child.on('exit', (c) => r(c ?? 1)))
await server.close()
if (!ready) fail(`the mount failed (exit ${code}); see the message above`)
console.log(`demo: unmounted ./${rel}; server stopped after ${server.requests} requests, ${server.bytesSent} bytes.`)
process.exit(code)
