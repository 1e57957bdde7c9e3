// Child process for the crash tests: opens the workspace and commits; SCORPIO_TEST_CRASH_AT kills it.
import { openLocalRemote } from '../../lib/remote/mod.ts'
import { openStore } from '../../lib/store/mod.ts'
import { openWorkspace } from '../../lib/workspace/workspace.ts'

const [stateDir, repo, cache] = process.argv.slice(2)
const store = await openStore({ remote: await openLocalRemote(repo), cacheDir: cache })
const ws = await openWorkspace(stateDir, { store })
const r = await ws.commit({ message: 'crash test', author: 'Crash <c@x>' })
process.stdout.write(r.commit + '\n')
