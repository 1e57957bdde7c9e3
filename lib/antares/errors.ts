// Errors the Antares HTTP layer turns into `{error, code}` with a status code.
import { ScorpioError } from '../errors.ts'
import type { ErrorCode } from './types.ts'

const STATUS: Record<ErrorCode, number> = {
  INVALID_REQUEST: 400,
  BAD_PAYLOAD: 400,
  UNAUTHORIZED: 401,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  FUSE_ERROR: 500,
  INTERNAL_ERROR: 500,
  SHUTDOWN: 503,
}

export class AntaresError extends ScorpioError {
  readonly apiCode: ErrorCode
  readonly status: number
  constructor(apiCode: ErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(`antares-${apiCode.toLowerCase()}`, message, options)
    this.apiCode = apiCode
    this.status = STATUS[apiCode]
  }
}

export const invalid = (message: string) => new AntaresError('INVALID_REQUEST', message)
export const notFound = (message: string) => new AntaresError('NOT_FOUND', message)
