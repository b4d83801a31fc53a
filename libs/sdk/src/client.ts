import type { ExecutionResult, RunOptions } from './types';

export interface ClientOptions {
  /** Default: EXECUTOR_URL or http://127.0.0.1:8080. */
  baseUrl?: string;
  /** Default: EXECUTOR_API_KEY. Sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** The tenant to act for when the server has no API keys (a key names its own tenant). */
  tenantId?: string;
  /**
   * Seconds a call may take, its reply read in full (default EXECUTOR_REQUEST_TIMEOUT or 60); a
   * run waits its own timeout (or the server's longest, 300 s) on top.
   */
  requestTimeout?: number;
  /** How many times a 429 or 503 answer is retried (default 3; 0 never retries). */
  maxRetries?: number;
  /** The longest wait before a retry, in seconds (default 60): a longer Retry-After is not waited. */
  maxRetryWait?: number;
}

export const DEFAULT_REQUEST_TIMEOUT_S = 60;
export const DEFAULT_MAX_RETRIES = 3;
export const DEFAULT_MAX_RETRY_WAIT_S = 60;
/** The longest run the server allows: a run without its own timeout may take that long. */
export const MAX_RUN_SECONDS = 300;
/** What creating a session may take beyond the request timeout (its sandbox starts). */
const SESSION_CREATE_EXTRA_S = 90;

/** Codes the SDK gives itself when no usable answer came (`status` is 0 then). */
export const ClientErrorCodes = {
  ConnectionFailed: 'CONNECTION_FAILED',
  RequestTimeout: 'REQUEST_TIMEOUT',
  BadResponse: 'BAD_RESPONSE',
  StreamEnded: 'STREAM_ENDED',
  InvalidArgument: 'INVALID_ARGUMENT',
} as const;

/** An error answered by Executor: `{status: "error", error: {code, message}}` with its HTTP status. */
export class ExecutorError extends Error {
  constructor(
    /** The HTTP status; 0 when no answer came (the SDK's own codes). */
    readonly status: number,
    readonly code: string,
    message: string,
    /** Seconds, when the server said when to try again. */
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ExecutorError';
  }
}

/**
 * Refusals that say nothing ran, so even a call that is not idempotent (a run, a session's
 * creation) can be sent again. Not DEPENDENCY_UNAVAILABLE: the API also answers it when its
 * connection dropped while the run may have gone ahead.
 */
export const REFUSED_BEFORE_RUNNING: ReadonlySet<string> = new Set([
  'RATE_LIMITED',
  'CONCURRENCY_LIMIT',
  'RUNNER_BUSY',
  'IMAGE_NOT_READY',
]);
/** Over a limit that waiting does not lift. */
const NOT_WORTH_RETRYING: ReadonlySet<string> = new Set(['QUOTA_EXCEEDED', 'SESSION_LIMIT']);

/**
 * Seconds to wait before sending a call again after `error`, or undefined to give up. Only 429
 * and 503 are retried: idempotent calls always, others only when the code says nothing ran.
 * `Retry-After` is honoured (0.5 s, 1 s, 2 s … up to 8 s without one); a wait over `maxWait` is
 * not waited. The same rule as the Python SDK's `retry_delay`.
 */
export function retryDelay(
  error: ExecutorError,
  idempotent: boolean,
  attempt: number,
  maxRetries: number,
  maxWait: number,
): number | undefined {
  if ((error.status !== 429 && error.status !== 503) || attempt >= maxRetries) return undefined;
  if (NOT_WORTH_RETRYING.has(error.code)) return undefined;
  if (!idempotent && !REFUSED_BEFORE_RUNNING.has(error.code)) return undefined;
  // An image that is not ready and says no time: its build failed, asking again builds it again.
  if (error.code === 'IMAGE_NOT_READY' && error.retryAfter === undefined) return undefined;
  const wait = error.retryAfter ?? Math.min(0.5 * 2 ** attempt, 8);
  return wait <= maxWait ? wait : undefined;
}

/** An IMF-fixdate, the form of an HTTP date a server sends: `Sun, 06 Nov 1994 08:49:37 GMT`. */
const HTTP_DATE = /^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} GMT$/;

/** `Retry-After` as seconds: a number of seconds or an HTTP date; anything else is no answer. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  const text = value.trim();
  if (/^\d{1,9}$/.test(text)) return Number(text);
  if (!HTTP_DATE.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, (at - now) / 1000);
}

interface CallOptions {
  body?: unknown;
  /** Safe to send again whatever the answer was (reads, file calls, destroy). */
  idempotent?: boolean;
  /** Seconds for the whole call; the client's request timeout when not given. */
  timeoutS?: number;
  signal?: AbortSignal;
  accept?: string;
}

/** A response being read, with the deadline still running; `done` stops it. */
interface OpenResponse {
  res: Response;
  /** Reads the body under the call's deadline and ends the call. */
  read<T>(how: (res: Response) => Promise<T>): Promise<T>;
}

interface StreamFrame {
  type: 'stdout' | 'stderr' | 'result' | 'keepalive' | 'done' | 'error';
  text?: string;
  data?: Record<string, unknown>;
  is_main_result?: boolean;
  result?: ExecutionResult;
  error?: { code: string; message: string };
}

/** HTTP plumbing shared by Executor, Sandbox and the template calls. */
export class Client {
  readonly baseUrl: string;
  readonly tenantId?: string;
  readonly requestTimeout: number;
  readonly maxRetries: number;
  readonly maxRetryWait: number;
  private readonly apiKey?: string;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? process.env.EXECUTOR_URL ?? 'http://127.0.0.1:8080').replace(
      /\/$/,
      '',
    );
    this.apiKey = options.apiKey ?? process.env.EXECUTOR_API_KEY;
    this.tenantId = options.tenantId ?? (this.apiKey ? undefined : 'default');
    this.requestTimeout =
      options.requestTimeout ?? envSeconds('EXECUTOR_REQUEST_TIMEOUT') ?? DEFAULT_REQUEST_TIMEOUT_S;
    this.maxRetries = options.maxRetries ?? DEFAULT_MAX_RETRIES;
    this.maxRetryWait = options.maxRetryWait ?? DEFAULT_MAX_RETRY_WAIT_S;
    if (!(this.requestTimeout > 0) || !Number.isFinite(this.requestTimeout))
      throw invalid('requestTimeout must be a positive number of seconds');
    if (!Number.isInteger(this.maxRetries) || this.maxRetries < 0)
      throw invalid('maxRetries must be a whole number, 0 or more');
    if (!(this.maxRetryWait >= 0)) throw invalid('maxRetryWait must be 0 or more seconds');
  }

  headers(json: boolean): Record<string, string> {
    return {
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
    };
  }

  /** How long to wait for a run: its own timeout (or the longest the server allows) plus the request timeout. */
  runTimeout(timeoutS: number | undefined): number {
    return this.requestTimeout + (timeoutS || MAX_RUN_SECONDS);
  }

  /** How long to wait for a session to be created: its sandbox may have to start. */
  get sessionCreateTimeout(): number {
    return this.requestTimeout + SESSION_CREATE_EXTRA_S;
  }

  async request<T>(
    method: string,
    path: string,
    body?: unknown,
    opts: Omit<CallOptions, 'body'> = {},
  ): Promise<T> {
    const call = await this.send(method, path, { ...opts, body });
    return call.read(async (res) => {
      const text = await res.text();
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new ExecutorError(res.status, ClientErrorCodes.BadResponse, "the server's reply is not JSON");
      }
    });
  }

  async raw(path: string): Promise<Uint8Array> {
    const call = await this.send('GET', path, { idempotent: true, accept: '*/*' });
    return call.read(async (res) => new Uint8Array(await res.arrayBuffer()));
  }

  /** A run: streamed (NDJSON) when any callback is given, one JSON reply otherwise. */
  async run(path: string, body: Record<string, unknown>, options: RunOptions): Promise<ExecutionResult> {
    const timeoutS = this.runTimeout(options.timeout);
    const streaming = Boolean(options.onStdout || options.onStderr || options.onResult);
    if (!streaming)
      return this.request<ExecutionResult>('POST', path, body, { signal: options.signal, timeoutS });
    const call = await this.send('POST', path, {
      body: { ...body, stream: true },
      signal: options.signal,
      timeoutS,
      accept: 'application/x-ndjson',
    });
    return call.read((res) => readStream(res, options));
  }

  /**
   * Sends a call, retrying 429 and 503 answers as retryDelay says, and returns a 2xx response
   * whose body is still to be read under the same deadline. Each attempt has the whole timeout,
   * its reading included; the waits between attempts end when the caller's signal aborts.
   */
  private async send(method: string, path: string, opts: CallOptions): Promise<OpenResponse> {
    const timeoutMs = (opts.timeoutS ?? this.requestTimeout) * 1000;
    for (let attempt = 0; ; attempt++) {
      const deadline = new Deadline(timeoutMs, opts.signal);
      let res: Response;
      try {
        res = await fetch(`${this.baseUrl}${path}`, {
          method,
          headers: {
            ...this.headers(opts.body !== undefined),
            ...(opts.accept ? { accept: opts.accept } : {}),
          },
          body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
          signal: deadline.signal,
        });
      } catch (err) {
        deadline.end();
        throw deadline.explain(err, `${method} ${path}`, this.baseUrl);
      }
      if (res.ok) {
        return {
          res,
          read: async (how) => {
            try {
              return await how(res);
            } catch (err) {
              throw deadline.explain(err, `${method} ${path}`, this.baseUrl);
            } finally {
              deadline.end();
            }
          },
        };
      }
      let error: ExecutorError;
      try {
        error = await errorOf(res);
      } catch (err) {
        throw deadline.explain(err, `${method} ${path}`, this.baseUrl);
      } finally {
        deadline.end();
      }
      const wait = retryDelay(error, opts.idempotent ?? false, attempt, this.maxRetries, this.maxRetryWait);
      if (wait === undefined) throw error;
      await sleep(wait * 1000, opts.signal);
    }
  }
}

/** One attempt's time limit, tied to the caller's own signal. */
class Deadline {
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private timedOut = false;
  private readonly unlink: () => void;

  constructor(
    private readonly ms: number,
    outer?: AbortSignal,
  ) {
    this.timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort();
    }, ms);
    const onAbort = () => this.controller.abort(outer?.reason);
    if (outer?.aborted) onAbort();
    outer?.addEventListener('abort', onAbort, { once: true });
    this.unlink = () => outer?.removeEventListener('abort', onAbort);
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  end(): void {
    clearTimeout(this.timer);
    this.unlink();
  }

  /** Why a call failed without an answer: our deadline, the caller's cancel (as it was), or the connection. */
  explain(err: unknown, what: string, baseUrl: string): unknown {
    if (err instanceof ExecutorError) return err;
    if (this.timedOut)
      return new ExecutorError(
        0,
        ClientErrorCodes.RequestTimeout,
        `${what}: no answer within ${this.ms / 1000} s`,
      );
    if (this.controller.signal.aborted) return err;
    if (err instanceof SyntaxError)
      return new ExecutorError(0, ClientErrorCodes.BadResponse, `${what}: a reply line is not JSON`);
    // fetch fails with a TypeError when the connection cannot be made or breaks off (by name:
    // fetch may live in another realm than this module, as under jest).
    if ((err as Error | undefined)?.name !== 'TypeError') return err;
    const cause = (err as { cause?: { code?: unknown } }).cause?.code;
    return new ExecutorError(
      0,
      ClientErrorCodes.ConnectionFailed,
      `${what}: cannot reach ${baseUrl}${typeof cause === 'string' ? ` (${cause})` : ''}`,
    );
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason as Error);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

function envSeconds(name: string): number | undefined {
  const raw = process.env[name];
  if (!raw) return undefined;
  const value = Number(raw);
  if (!(value > 0) || !Number.isFinite(value)) throw invalid(`${name} must be a positive number of seconds`);
  return value;
}

function invalid(message: string): ExecutorError {
  return new ExecutorError(0, ClientErrorCodes.InvalidArgument, message);
}

/** The NDJSON frames of a streamed run, to its result. */
async function readStream(res: Response, options: RunOptions): Promise<ExecutionResult> {
  if (!res.body) throw new ExecutorError(res.status, ClientErrorCodes.StreamEnded, 'the stream has no body');
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = (await reader.read()) as { done: boolean; value?: Uint8Array };
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).trim();
      buffer = buffer.slice(nl + 1);
      if (!line) continue;
      const frame = JSON.parse(line) as StreamFrame;
      if (frame.type === 'stdout') options.onStdout?.(frame.text ?? '');
      else if (frame.type === 'stderr') options.onStderr?.(frame.text ?? '');
      else if (frame.type === 'result')
        options.onResult?.({
          data: frame.data ?? {},
          is_main_result: Boolean(frame.is_main_result),
        });
      else if (frame.type === 'done' && frame.result) return frame.result;
      else if (frame.type === 'error')
        throw new ExecutorError(
          500,
          frame.error?.code ?? 'INTERNAL_ERROR',
          frame.error?.message ?? 'the run failed',
        );
    }
  }
  throw new ExecutorError(502, ClientErrorCodes.StreamEnded, 'the stream ended before the result');
}

async function errorOf(res: Response): Promise<ExecutorError> {
  let code = 'HTTP_ERROR';
  let message = `HTTP ${res.status}`;
  let retryAfter: number | undefined;
  try {
    const body = (await res.json()) as {
      error?: { code?: unknown; message?: unknown; retry_after?: unknown };
    };
    const e = body.error;
    if (typeof e?.code === 'string') code = e.code.slice(0, 100);
    if (typeof e?.message === 'string') message = e.message.slice(0, 2000);
    if (typeof e?.retry_after === 'number') retryAfter = e.retry_after;
  } catch {
    // not JSON
  }
  const fromBody =
    typeof retryAfter === 'number' && retryAfter >= 0 && retryAfter < 1e9 ? retryAfter : undefined;
  return new ExecutorError(
    res.status,
    code,
    message,
    fromBody ?? parseRetryAfter(res.headers.get('retry-after')),
  );
}

export function encodeFiles(files: RunOptions['files']) {
  return (files ?? []).map((f) =>
    typeof f.content === 'string'
      ? { path: f.path, content: f.content }
      : { path: f.path, content: Buffer.from(f.content).toString('base64'), encoding: 'base64' as const },
  );
}
