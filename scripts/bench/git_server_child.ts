// A git http-backend server in its own process (benchmarks measure clients that must not share its
// event loop). Prints the base URL on stdout, serves until stdin closes or SIGTERM; a line
// `requests` on stdin is answered with `requests N` (requests served so far).
//   node --import tsx scripts/bench/git_server_child.ts ROOT
import { startGitServer } from '../../tests/helpers/git_server.ts'

const server = await startGitServer(process.argv[2])
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
