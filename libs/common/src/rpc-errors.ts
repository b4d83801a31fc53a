import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { randomUUID } from 'node:crypto';
import { Observable, throwError } from 'rxjs';
import { ErrorCodes, isErrorPayload, type ErrorCode, type ErrorPayload } from '@executor/contracts';

/** A domain error that crosses NATS as `{code, message}`. */
export function domainError(code: ErrorCode, message: string, retryAfter?: number): RpcException {
  return new RpcException({
    code,
    message,
    ...(retryAfter ? { retry_after: retryAfter } : {}),
  } satisfies ErrorPayload);
}

/** An error answered by another service (or by the transport on its behalf). */
export class RemoteError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'RemoteError';
  }

  toPayload(): ErrorPayload {
    return {
      code: this.code,
      message: this.message,
      ...(this.retryAfter ? { retry_after: this.retryAfter } : {}),
    };
  }
}

/**
 * Every error a handler throws leaves as `{code, message}`: domain errors as they are,
 * anything else as INTERNAL_ERROR with an id that is also in the log (never a stack).
 */
@Catch()
export class RpcErrorFilter implements RpcExceptionFilter<unknown> {
  private readonly logger = new Logger('RpcErrorFilter');

  catch(exception: unknown, _host: ArgumentsHost): Observable<never> {
    if (exception instanceof RpcException && isErrorPayload(exception.getError())) {
      return throwError(() => exception.getError());
    }
    if (exception instanceof RemoteError) return throwError(() => exception.toPayload());
    // An error that carries a wire code itself (the event store's EventStoreUnavailableError,
    // the runner's AdmissionRefused), with a retry_after when it has one.
    if (exception instanceof Error && isErrorPayload(exception)) {
      const { code, message, retry_after } = exception;
      return throwError(
        () => ({ code, message, ...(retry_after ? { retry_after } : {}) }) satisfies ErrorPayload,
      );
    }
    const id = randomUUID();
    this.logger.error(
      `unhandled error ${id}: ${exception instanceof Error ? (exception.stack ?? exception.message) : String(exception)}`,
    );
    return throwError(
      () => ({ code: ErrorCodes.InternalError, message: `internal error (id ${id})` }) satisfies ErrorPayload,
    );
  }
}
