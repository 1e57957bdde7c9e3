// A git http-backend server in its own process (benchmarks measure clients that must not share its
// event loop). Prints the base URL on stdout, serves until stdin closes or SIGTERM; a line
// `requests` on stdin is answered with `requests N` (requests served so far).
// With GIT_SERVER_LOG=FILE, one line per request goes to FILE: milliseconds since start, path, the
// protocol v2 command, how many ids it asks for and its filter (where a benchmark's requests go).
//   node --import tsx scripts/bench/git_server_child.ts ROOT
import { appendFileSync } from 'node:fs'
import { describeRequest, startGitServer } from '../../tests/helpers/git_server.ts'

const server = await startGitServer(process.argv[2])
const logFile = process.env.GIT_SERVER_LOG
if (logFile) {
  const t0 = performance.now()
  server.intercept = (req) => {
    appendFileSync(logFile, `${Math.round(performance.now() - t0)} ${req.path.split('/').pop()} ${describeRequest(req)}\n`)
    return undefined
  }
}
process.stdout.write(server.base + '\n')
const stop = () => void server.close().finally(() => process.exit(0))
process.on('SIGTERM', stop)
process.stdin.on('end', stop)
let input = ''
process.stdin.on('data', (d) => {
  input += d
  for (let nl = input.indexOf('\n'); nl >= 0; nl = input.indexOf('\n')) {
    if (input.slice(0, nl).trim() === 'requests') process.stdout.write(`requests ${server.requests}\n`)
    input = input.slice(nl + 1)
  }
})
