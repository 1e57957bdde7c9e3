// A git http-backend server in its own process (benchmarks measure clients that must not share its
// event loop). Prints the base URL on stdout, serves until stdin closes or SIGTERM.
//   node --import tsx scripts/bench/git_server_child.ts ROOT
import { startGitServer } from '../../tests/helpers/git_server.ts'

const server = await startGitServer(process.argv[2])
process.stdout.write(server.base + '\n')
const stop = () => void server.close().finally(() => process.exit(0))
process.on('SIGTERM', stop)
process.stdin.on('end', stop)
process.stdin.resume()
