/** Domain error codes that cross NATS as `{code, message}` and reach HTTP as `{status:"error", error:{code, message}}`. */
export const ErrorCodes = {
  ValidationError: 'VALIDATION_ERROR',
  InvalidJson: 'INVALID_JSON',
  UnsupportedMediaType: 'UNSUPPORTED_MEDIA_TYPE',
  PayloadTooLarge: 'PAYLOAD_TOO_LARGE',
  UnknownTemplate: 'UNKNOWN_TEMPLATE',
  TemplateExists: 'TEMPLATE_EXISTS',
  BuiltinTemplate: 'BUILTIN_TEMPLATE',
  NetworkNotAllowed: 'NETWORK_NOT_ALLOWED',
  UnsupportedLanguage: 'UNSUPPORTED_LANGUAGE',
  UnsupportedRuntime: 'UNSUPPORTED_RUNTIME',
  NotFound: 'NOT_FOUND',
  Forbidden: 'FORBIDDEN',
  Unauthenticated: 'UNAUTHENTICATED',
  RateLimited: 'RATE_LIMITED',
  QuotaExceeded: 'QUOTA_EXCEEDED',
  ConcurrencyLimit: 'CONCURRENCY_LIMIT',
  SessionNotFound: 'SESSION_NOT_FOUND',
  SessionExpired: 'SESSION_EXPIRED',
  SessionDestroyed: 'SESSION_DESTROYED',
  SessionLost: 'SESSION_LOST',
  SessionLimit: 'SESSION_LIMIT',
  FileNotFound: 'FILE_NOT_FOUND',
  FileRefused: 'FILE_REFUSED',
  ImageNotReady: 'IMAGE_NOT_READY',
  DependencyUnavailable: 'DEPENDENCY_UNAVAILABLE',
  DependencyTimeout: 'DEPENDENCY_TIMEOUT',
  SandboxError: 'SANDBOX_ERROR',
  /** Every execution slot of the runner is taken and its queue is full (or the wait ran out). */
  RunnerBusy: 'RUNNER_BUSY',
  /** The runner running this execution died or restarted before it answered. */
  RunnerLost: 'RUNNER_LOST',
  /** The event store cannot be written (disk full, read-only, I/O error): nothing was recorded. */
  EventStoreUnavailable: 'EVENT_STORE_UNAVAILABLE',
  ConcurrencyConflict: 'CONCURRENCY_CONFLICT',
  /** A reply was larger than the bus carries; replies are fitted to it, so this is a bug of ours. */
  ReplyTooLarge: 'REPLY_TOO_LARGE',
  InternalError: 'INTERNAL_ERROR',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/** The payload of every error that crosses the wire. */
export interface ErrorPayload {
  code: ErrorCode;
  message: string;
  /** Seconds after which the same request may succeed (503 while an image builds, 429). */
  retry_after?: number;
}

const HTTP_STATUS: Record<ErrorCode, number> = {
  VALIDATION_ERROR: 400,
  INVALID_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  PAYLOAD_TOO_LARGE: 413,
  UNKNOWN_TEMPLATE: 400,
  TEMPLATE_EXISTS: 409,
  BUILTIN_TEMPLATE: 400,
  NETWORK_NOT_ALLOWED: 403,
  UNSUPPORTED_LANGUAGE: 400,
  UNSUPPORTED_RUNTIME: 400,
  NOT_FOUND: 404,
  FORBIDDEN: 403,
  UNAUTHENTICATED: 401,
  RATE_LIMITED: 429,
  QUOTA_EXCEEDED: 429,
  CONCURRENCY_LIMIT: 429,
  SESSION_NOT_FOUND: 404,
  SESSION_EXPIRED: 410,
  SESSION_DESTROYED: 410,
  SESSION_LOST: 410,
  SESSION_LIMIT: 429,
  FILE_NOT_FOUND: 404,
  FILE_REFUSED: 400,
  IMAGE_NOT_READY: 503,
  DEPENDENCY_UNAVAILABLE: 503,
  DEPENDENCY_TIMEOUT: 503,
  SANDBOX_ERROR: 500,
  RUNNER_BUSY: 503,
  RUNNER_LOST: 503,
  EVENT_STORE_UNAVAILABLE: 503,
  CONCURRENCY_CONFLICT: 409,
  REPLY_TOO_LARGE: 500,
  INTERNAL_ERROR: 500,
};

export function httpStatusFor(code: ErrorCode): number {
  return HTTP_STATUS[code];
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(HTTP_STATUS, value);
}

export function isErrorPayload(value: unknown): value is ErrorPayload {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return isErrorCode(v.code) && typeof v.message === 'string';
}
