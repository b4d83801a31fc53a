import { applyDecorators, HttpCode, Post, type Type } from '@nestjs/common';
import { ApiExtraModels, ApiOkResponse, ApiOperation, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import { ErrorBodyDto, ErrorCodes, StreamFrameDto, httpStatusFor, type ErrorCode } from '@executor/contracts';

/** What any route may answer: bad input, a missing or wrong key (with keys on), a dependency down, a bug. */
const EVERY_ROUTE: ErrorCode[] = [
  ErrorCodes.ValidationError,
  ErrorCodes.Unauthenticated,
  ErrorCodes.DependencyUnavailable,
  ErrorCodes.DependencyTimeout,
  ErrorCodes.InternalError,
];

/** What the JSON body middleware answers before a route with a body is reached. */
export const BODY_ERRORS: ErrorCode[] = [
  ErrorCodes.InvalidJson,
  ErrorCodes.UnsupportedMediaType,
  ErrorCodes.PayloadTooLarge,
];

/** What a route that names a session may answer: a foreign tenant, or a session unknown or ended. */
export const SESSION_ERRORS: ErrorCode[] = [
  ErrorCodes.Forbidden,
  ErrorCodes.SessionNotFound,
  ErrorCodes.SessionExpired,
  ErrorCodes.SessionDestroyed,
  ErrorCodes.SessionLost,
];

/** What a route that runs code may answer besides its own: limits, the runner or store gone, a broken sandbox, a reply too large. */
export const RUN_ERRORS: ErrorCode[] = [
  ErrorCodes.RateLimited,
  ErrorCodes.ConcurrencyLimit,
  ErrorCodes.QuotaExceeded,
  ErrorCodes.RunnerLost,
  ErrorCodes.EventStoreUnavailable,
  ErrorCodes.SandboxError,
  ErrorCodes.ReplyTooLarge,
];

/**
 * The error responses of a route, one per HTTP status of the error table (libs/contracts
 * errors.ts), each naming the codes it may carry: the route's own and those of every route.
 */
export function ApiErrors(...codes: ErrorCode[]): MethodDecorator {
  const byStatus = new Map<number, Set<ErrorCode>>();
  for (const code of [...EVERY_ROUTE, ...codes]) {
    const status = httpStatusFor(code);
    byStatus.set(status, (byStatus.get(status) ?? new Set()).add(code));
  }
  return applyDecorators(
    ...[...byStatus]
      .sort(([a], [b]) => a - b)
      .map(([status, list]) =>
        ApiResponse({ status, type: ErrorBodyDto, description: `Error codes: ${[...list].join(', ')}` }),
      ),
  );
}

/**
 * The 200 of a route that runs code: the result as JSON, or its frames as they happen
 * (`stream: true`, or Accept: application/x-ndjson or text/event-stream).
 */
export function ApiRunResponse(result: Type<unknown>): MethodDecorator {
  const frame = { schema: { $ref: getSchemaPath(StreamFrameDto) } };
  return applyDecorators(
    ApiExtraModels(result, StreamFrameDto),
    ApiResponse({
      status: 200,
      description:
        'The run, also when it failed, timed out or was killed (see status). Streamed: one frame ' +
        'per line as the run goes (for text/event-stream, the data of an event), then {type: "done", result}.',
      content: {
        'application/json': { schema: { $ref: getSchemaPath(result) } },
        'application/x-ndjson': frame,
        'text/event-stream': frame,
      },
    }),
  );
}

/**
 * A POST route of the JSON API that answers 200 (not Nest's 201) with `reply`: its path, its
 * summary, and its error responses, the JSON body's among them. (Applied in the order the
 * decorators would stand above a method, so the document is the same as with them spelled out.)
 */
export function PostRoute(
  path: string,
  summary: string,
  reply: Type<unknown>,
  ...codes: ErrorCode[]
): MethodDecorator {
  return applyDecorators(
    ApiErrors(...BODY_ERRORS, ...codes),
    ApiOkResponse({ type: reply }),
    ApiOperation({ summary }),
    HttpCode(200),
    Post(path),
  );
}
