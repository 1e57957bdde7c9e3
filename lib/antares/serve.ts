// One call that CLI and tests use: start the service (claim the state dir, bring back the jobs of
// the state file) and put the HTTP server in front of it.
import { checkBindSecurity, DEFAULT_BIND, parseBind } from './bind.ts'
import { listenAntares, type AntaresServer, type AntaresServerOptions } from './http_server.ts'
import { AntaresService } from './service.ts'
import type { JobMounter } from './types.ts'

export interface ServeAntaresOptions extends AntaresServerOptions {
  stateDir: string
}

export interface RunningAntares extends AntaresServer {
  service: AntaresService
  /** Resolves once every job of the state file has been mounted again (or failed). */
  restored: Promise<void>
}

export async function serveAntares(mounter: JobMounter, options: ServeAntaresOptions): Promise<RunningAntares> {
  const service = new AntaresService(mounter, { stateDir: options.stateDir, log: options.log })
  // Check the bind before claiming anything, so a refused bind leaves no trace.
  checkBindSecurity(parseBind(options.bind ?? DEFAULT_BIND), options.token || undefined)
  const { restored } = await service.start()
  try {
    const server = await listenAntares(service, options)
    return { ...server, service, restored }
  } catch (err) {
    await service.shutdown()
    throw err
  }
}
