import pino, { type Logger, type LoggerOptions } from 'pino';
import { currentRequest } from './request-context';

/** The level names the apps' LOG_LEVEL takes (Nest's), and pino's for each. */
const LEVELS = { verbose: 'trace', debug: 'debug', log: 'info', warn: 'warn', error: 'error' } as const;
export type LogLevel = keyof typeof LEVELS;

/**
 * Keys that may hold secrets, user code, inputs or outputs: never written, wherever they are
 * nested (up to two levels below the line, which is as deep as our log objects go).
 */
const SECRET_KEYS = [
  'authorization',
  'cookie',
  'x-api-key',
  'password',
  'token',
  'api_key',
  'secret',
  'env',
  'code',
  'stdin',
  'content',
  'content_b64',
  'files',
  'body',
  'stdout',
  'stderr',
  'EVENT_STORE_URL',
  'EXECUTOR_API_KEYS',
  'METRICS_SCRAPE_TOKEN',
];
const SECRETS = new Set(SECRET_KEYS);
const CENSOR = '[redacted]';
/** How far below the line secrets are looked for: as deep as our log objects go. */
const REDACT_DEPTH = 2;

/**
 * The log object with the value of every secret key, down to two levels below the line,
 * censored. A copy where anything changes: the caller's objects are never touched. Values with
 * a serializer of their own (`req`, `res`, `err`) are left to it: it keeps only safe fields.
 * A walk over the few keys a line has, where pino's wildcard redaction cost ~90 µs a line.
 */
export function redactSecrets(
  obj: Record<string, unknown>,
  serialized: ReadonlySet<string>,
): Record<string, unknown> {
  return censor(obj, 0, serialized) as Record<string, unknown>;
}

function censor(value: unknown, depth: number, skip?: ReadonlySet<string>): unknown {
  if (value === null || typeof value !== 'object' || ArrayBuffer.isView(value) || value instanceof Date)
    return value;
  let copy: Record<string, unknown> | unknown[] | undefined;
  const source = value as Record<string, unknown>;
  for (const key of Object.keys(source)) {
    const before = source[key];
    const after = SECRETS.has(key)
      ? CENSOR
      : depth < REDACT_DEPTH && !skip?.has(key)
        ? censor(before, depth + 1)
        : before;
    if (after === before) continue;
    copy ??= Array.isArray(value) ? [...(value as unknown[])] : { ...source };
    (copy as Record<string, unknown>)[key] = after;
  }
  return copy ?? value;
}

/** Keys whose values a serializer reduces to safe fields (pino's `err`, pino-http's `req` and `res`). */
const SERIALIZED = new Set(['req', 'res', 'err']);

/** pino's options for a service: one JSON object a line with service, level (a name) and ISO time. */
export function loggerOptions(service: string, level: LogLevel = 'log'): LoggerOptions {
  return {
    level: LEVELS[level],
    base: { service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: {
      level: (label) => ({ level: label }),
      log: (obj) => redactSecrets(obj, SERIALIZED),
    },
    // The ids of the request or RPC being served, on every line written while serving it.
    mixin: () => ({ ...currentRequest() }),
  };
}

let root: Logger | undefined;

/**
 * The process's one pino logger. JSON to stdout (synchronously, so the last lines before an
 * exit are not lost); pretty-printed only when stdout is a terminal.
 */
export function serviceLogger(service?: string, level?: LogLevel): Logger {
  if (!root) {
    const options = loggerOptions(service ?? 'executor', level);
    root = process.stdout.isTTY
      ? pino({ ...options, transport: { target: 'pino-pretty', options: { colorize: true } } })
      : pino(options, pino.destination({ fd: 1, sync: true }));
  }
  return root;
}

/** A logger to stderr, for the line that says why a process could not start (as before: on stderr). */
export function stderrLogger(service: string): Logger {
  return pino(loggerOptions(service), pino.destination({ fd: 2, sync: true }));
}

/** The LOG_LEVEL of the environment, when it is one we know. */
export function envLogLevel(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const value = env.LOG_LEVEL;
  return value && value in LEVELS ? (value as LogLevel) : 'log';
}
