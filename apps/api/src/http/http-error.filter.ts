import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { Response } from 'express';
import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  httpStatusFor,
  isErrorPayload,
  type ErrorCode,
  type ErrorPayload,
} from '@executor/contracts';
import { RemoteError } from '@executor/common';

const CODE_FOR_STATUS: Record<number, ErrorCode> = {
  [HttpStatus.BAD_REQUEST]: ErrorCodes.ValidationError,
  [HttpStatus.NOT_FOUND]: ErrorCodes.NotFound,
  [HttpStatus.PAYLOAD_TOO_LARGE]: ErrorCodes.PayloadTooLarge,
  [HttpStatus.UNSUPPORTED_MEDIA_TYPE]: ErrorCodes.UnsupportedMediaType,
};

/** The error body of every route (README, API). */
export function errorBody(code: ErrorCode, message: string) {
  return { status: 'error' as const, error: { code, message } satisfies ErrorPayload };
}

/** Every error leaves as `{status:"error", error:{code, message}}`; unknown ones with an id, never a stack. */
@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpErrorFilter');

  catch(exception: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    const { status, payload } = this.toPayload(exception);
    if (res.headersSent) return;
    if (payload.retry_after) res.setHeader('Retry-After', String(payload.retry_after));
    res.status(status).json({ status: 'error', error: payload });
  }

  private toPayload(exception: unknown): { status: number; payload: ErrorPayload } {
    if (exception instanceof RemoteError) {
      return { status: httpStatusFor(exception.code), payload: exception.toPayload() };
    }
    if (exception instanceof HttpException) {
      const body = exception.getResponse();
      if (isErrorPayload(body)) return { status: exception.getStatus(), payload: body };
      const status = exception.getStatus();
      const code =
        CODE_FOR_STATUS[status] ?? (status >= 500 ? ErrorCodes.InternalError : ErrorCodes.ValidationError);
      const message = typeof body === 'string' ? body : exception.message;
      return { status, payload: { code, message } };
    }
    const id = randomUUID();
    this.logger.error(
      `unhandled error ${id}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    return { status: 500, payload: { code: ErrorCodes.InternalError, message: `internal error (id ${id})` } };
  }
}
