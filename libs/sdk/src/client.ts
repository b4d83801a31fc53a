import type { ExecutionResult, RunOptions } from './types';

export interface ClientOptions {
  /** Default: EXECUTOR_URL or http://127.0.0.1:8080. */
  baseUrl?: string;
  /** Default: EXECUTOR_API_KEY. Sent as `Authorization: Bearer`. */
  apiKey?: string;
  /** The tenant to act for when the server has no API keys (a key names its own tenant). */
  tenantId?: string;
}

/** An error answered by Executor: `{status: "error", error: {code, message}}` with its HTTP status. */
export class ExecutorError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = 'ExecutorError';
  }
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
  private readonly apiKey?: string;

  constructor(options: ClientOptions = {}) {
    this.baseUrl = (options.baseUrl ?? process.env.EXECUTOR_URL ?? 'http://127.0.0.1:8080').replace(
      /\/$/,
      '',
    );
    this.apiKey = options.apiKey ?? process.env.EXECUTOR_API_KEY;
    this.tenantId = options.tenantId ?? (this.apiKey ? undefined : 'default');
  }

  headers(json: boolean): Record<string, string> {
    return {
      ...(json ? { 'content-type': 'application/json' } : {}),
      ...(this.apiKey ? { authorization: `Bearer ${this.apiKey}` } : {}),
    };
  }

  async request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: this.headers(body !== undefined),
      body: body !== undefined ? JSON.stringify(body) : undefined,
      signal,
    });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  async raw(path: string): Promise<Uint8Array> {
    const res = await fetch(`${this.baseUrl}${path}`, { headers: this.headers(false) });
    if (!res.ok) throw await errorOf(res);
    return new Uint8Array(await res.arrayBuffer());
  }

  /** A run: streamed (NDJSON) when any callback is given, one JSON reply otherwise. */
  async run(path: string, body: Record<string, unknown>, options: RunOptions): Promise<ExecutionResult> {
    const streaming = Boolean(options.onStdout || options.onStderr || options.onResult);
    if (!streaming) return this.request<ExecutionResult>('POST', path, body, options.signal);
    const res = await fetch(`${this.baseUrl}${path}`, {
      method: 'POST',
      headers: this.headers(true),
      body: JSON.stringify({ ...body, stream: true }),
      signal: options.signal,
    });
    if (!res.ok || !res.body) throw await errorOf(res);
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
    throw new ExecutorError(502, 'STREAM_ENDED', 'the stream ended before the result');
  }
}

async function errorOf(res: Response): Promise<ExecutorError> {
  let code = 'HTTP_ERROR';
  let message = `HTTP ${res.status}`;
  let retryAfter: number | undefined;
  try {
    const body = (await res.json()) as { error?: { code?: string; message?: string; retry_after?: number } };
    code = body.error?.code ?? code;
    message = body.error?.message ?? message;
    retryAfter = body.error?.retry_after;
  } catch {
    // not JSON
  }
  const header = res.headers.get('retry-after');
  return new ExecutorError(res.status, code, message, retryAfter ?? (header ? Number(header) : undefined));
}

export function encodeFiles(files: RunOptions['files']) {
  return (files ?? []).map((f) =>
    typeof f.content === 'string'
      ? { path: f.path, content: f.content }
      : { path: f.path, content: Buffer.from(f.content).toString('base64'), encoding: 'base64' as const },
  );
}
