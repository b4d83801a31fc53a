import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import { ErrorCodes, httpStatusFor, isErrorPayload, type ErrorCode } from '@executor/contracts';
import { RemoteError } from '@executor/common';

/** Our codes E2B knows by another status: a sandbox that ended is one that is not there. */
const E2B_STATUS: Partial<Record<ErrorCode, number>> = {
  [ErrorCodes.SessionExpired]: 404,
  [ErrorCodes.SessionDestroyed]: 404,
  [ErrorCodes.SessionLost]: 404,
};

export interface E2bError {
  status: number;
  code: ErrorCode;
  message: string;
  retryAfter?: number;
}

/** Any error as E2B's `{code, message}` with the HTTP status its SDK maps to its own error classes. */
export function toE2bError(exception: unknown, logger?: Logger): E2bError {
  if (exception instanceof RemoteError) {
    let status = E2B_STATUS[exception.code] ?? httpStatusFor(exception.code);
    // The sandbox's disk is full: E2B's 507, which its SDK turns into NotEnoughSpaceError.
    if (exception.code === ErrorCodes.FileRefused && /no space left/i.test(exception.message)) status = 507;
    return { status, code: exception.code, message: exception.message, retryAfter: exception.retryAfter };
  }
  if (exception instanceof HttpException) {
    const body = exception.getResponse();
    const status = exception.getStatus();
    if (isErrorPayload(body)) return { status, code: body.code, message: body.message };
    return {
      status,
      code:
        status === 404
          ? ErrorCodes.NotFound
          : status >= 500
            ? ErrorCodes.InternalError
            : ErrorCodes.ValidationError,
      message: exception.message,
    };
  }
  const id = randomUUID();
  logger?.error(
    `unhandled error ${id}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
  );
  return { status: 500, code: ErrorCodes.InternalError, message: `internal error (id ${id})` };
}

/**
 * Errors of the /e2b routes as E2B answers them: `{code: <HTTP status>, message}` (its SDK reads
 * `code === 404` as "not found": a kill of an unknown sandbox is `false`), with `Retry-After` on
 * a 429 or 503. Our own code travels in `X-Executor-Error-Code`.
 */
@Catch()
export class E2bErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('E2bErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const error = toE2bError(exception, this.logger);
    if (res.headersSent) {
      res.end();
      return;
    }
    if (error.retryAfter) res.setHeader('Retry-After', String(error.retryAfter));
    res.setHeader('X-Executor-Error-Code', error.code);
    res.status(error.status).json({ code: error.status, message: error.message });
  }
}
