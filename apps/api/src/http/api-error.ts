import { HttpException } from '@nestjs/common';
import { httpStatusFor, isErrorPayload, type ErrorCode, type ErrorPayload } from '@executor/contracts';

/**
 * An error the API answers itself (bad input, a key, a limit), as Nest's HttpException with the
 * error payload for a body and the status the error table gives its code; the error filter
 * sends it as it does every error, with Retry-After when there is one. A RemoteError is what
 * another service answered.
 */
export function apiError(code: ErrorCode, message: string, retryAfter?: number): HttpException {
  const payload: ErrorPayload = { code, message, ...(retryAfter ? { retry_after: retryAfter } : {}) };
  return new HttpException(payload, httpStatusFor(code));
}

/** The payload of an error apiError made; undefined for anything else. */
export function apiErrorPayload(err: unknown): ErrorPayload | undefined {
  if (!(err instanceof HttpException)) return undefined;
  const body = err.getResponse();
  return isErrorPayload(body) ? body : undefined;
}
