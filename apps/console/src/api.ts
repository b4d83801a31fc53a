/** The public HTTP API as the console uses it: the key from sessionStorage, coded errors. */

export class ApiError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: number,
  ) {
    super(message);
  }
}

export type Role = 'admin' | 'tenant' | 'open' | 'unauthenticated';

const KEY = 'executor.console.key';
const TENANT = 'executor.console.tenant';

export interface EventEnvelope {
  id: string;
  stream_id: string;
  stream_type: string;
  type: string;
  version: number;
  position: number;
  tenant_id: string | null;
  occurred_at: string;
  correlation_id: string | null;
  data: Record<string, unknown>;
}

export interface StreamFrame {
  type: 'stdout' | 'stderr' | 'result' | 'keepalive' | 'done' | 'error';
  text?: string;
  data?: Record<string, unknown>;
  is_main_result?: boolean;
  result?: RunResult;
  error?: { code: string; message: string };
}

export interface RichResult {
  data: Record<string, unknown>;
  is_main_result: boolean;
}

export interface RunResult {
  status: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  execution_time: number;
  results: RichResult[];
  artifacts: Array<{ type: string; name: string; content: string; encoding: string; size: number }>;
  error?: { name: string; value: string; traceback?: string };
  timed_out: boolean;
  oom_killed: boolean;
  truncated: boolean;
  execution_count?: number;
  state_lost?: boolean;
}

/** Lines longer than this from a stream are refused: the console's memory is bounded too. */
const MAX_LINE = 32 * 1024 * 1024;

async function errorOf(res: Response): Promise<ApiError> {
  let code = `HTTP_${res.status}`;
  let message = res.statusText || 'request failed';
  try {
    const body = (await res.json()) as { error?: { code?: unknown; message?: unknown } };
    if (typeof body.error?.code === 'string') code = body.error.code;
    if (typeof body.error?.message === 'string') message = body.error.message;
  } catch {
    // not JSON: keep the status
  }
  return new ApiError(code, message, res.status);
}

export class Api {
  role: Role = 'unauthenticated';

  get key(): string {
    return sessionStorage.getItem(KEY) ?? '';
  }

  set key(value: string) {
    if (value) sessionStorage.setItem(KEY, value);
    else sessionStorage.removeItem(KEY);
  }

  /** The tenant the console acts for where it may choose (no keys, or an admin key). */
  get tenant(): string {
    return sessionStorage.getItem(TENANT) ?? 'console';
  }

  set tenant(value: string) {
    sessionStorage.setItem(TENANT, value);
  }

  /** What to send as tenant_id: nothing with a tenant key (the API fills in the key's own). */
  get tenantId(): string | undefined {
    return this.role === 'tenant' ? undefined : this.tenant;
  }

  get isAdmin(): boolean {
    return this.role === 'admin' || this.role === 'open';
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.key ? { authorization: `Bearer ${this.key}` } : {}), ...extra };
  }

  /** Finds out what the key may do: the admin query answers admins (and loopback without keys). */
  async probe(): Promise<Role> {
    const res = await fetch('/admin/events?limit=1', { headers: this.headers() });
    if (res.status === 200) this.role = this.key ? 'admin' : 'open';
    else if (res.status === 403) this.role = 'tenant';
    else this.role = 'unauthenticated';
    return this.role;
  }

  async json<T>(method: 'GET' | 'POST' | 'DELETE', path: string, body?: unknown): Promise<T> {
    const res = await fetch(path, {
      method,
      headers: this.headers(body === undefined ? {} : { 'content-type': 'application/json' }),
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw await errorOf(res);
    return (await res.json()) as T;
  }

  get<T>(path: string, query: Record<string, string | number | undefined> = {}): Promise<T> {
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') q.set(k, String(v));
    const s = q.toString();
    return this.json<T>('GET', s ? `${path}?${s}` : path);
  }

  async text(path: string): Promise<string> {
    const res = await fetch(path, { headers: this.headers() });
    if (!res.ok) throw await errorOf(res);
    return res.text();
  }

  /** A streamed run: NDJSON frames as they happen; aborting the signal stops the run. */
  async run(
    path: string,
    body: object,
    onFrame: (f: StreamFrame) => void,
    signal: AbortSignal,
  ): Promise<void> {
    const res = await fetch(path, {
      method: 'POST',
      headers: this.headers({ 'content-type': 'application/json', accept: 'application/x-ndjson' }),
      body: JSON.stringify({ ...body, stream: true }),
      signal,
    });
    if (!res.ok || !res.body) throw await errorOf(res);
    await readLines(res.body, (line) => {
      if (line.trim()) onFrame(JSON.parse(line) as StreamFrame);
    });
  }
}

/** Calls `onLine` for each line of a byte stream, with a bound on the length of one. */
export async function readLines(
  body: ReadableStream<Uint8Array>,
  onLine: (line: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffer += decoder.decode(value, { stream: true });
    let nl: number;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      onLine(buffer.slice(0, nl).replace(/\r$/, ''));
      buffer = buffer.slice(nl + 1);
    }
    if (buffer.length > MAX_LINE) throw new Error('a line of the stream is too long');
  }
  if (buffer) onLine(buffer);
}

export interface EventStreamHandle {
  close(): void;
}

/**
 * GET /events/stream read with fetch (EventSource cannot send the key in a header): server-sent
 * events parsed by line, and a reconnect with Last-Event-ID after the last event received, so
 * a dropped connection misses nothing.
 */
export function openEventStream(
  api: Api,
  query: Record<string, string | undefined>,
  onEvent: (e: EventEnvelope) => void,
  onStatus: (status: string) => void,
): EventStreamHandle {
  const abort = new AbortController();
  let lastId: string | undefined;
  let retryMs = 2000;
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v) q.set(k, v);

  const connect = async () => {
    while (!abort.signal.aborted) {
      try {
        const res = await fetch(`/events/stream?${q.toString()}`, {
          headers: api.headers({
            accept: 'text/event-stream',
            ...(lastId ? { 'last-event-id': lastId } : {}),
          }),
          signal: abort.signal,
        });
        if (!res.ok || !res.body) {
          const err = await errorOf(res);
          onStatus(`error: ${err.code}: ${err.message}`);
          if (res.status >= 400 && res.status < 500 && res.status !== 429) return;
        } else {
          onStatus('live');
          let data: string[] = [];
          let id: string | undefined;
          let type = 'message';
          await readLines(res.body, (line) => {
            if (line === '') {
              if (id !== undefined) lastId = id;
              if (data.length && type === 'message') onEvent(JSON.parse(data.join('\n')) as EventEnvelope);
              if (data.length && type === 'error') onStatus(`stream error: ${data.join('\n')}`);
              data = [];
              id = undefined;
              type = 'message';
              return;
            }
            if (line.startsWith(':')) return;
            const colon = line.indexOf(':');
            const name = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (name === 'data') data.push(value);
            else if (name === 'id') id = value;
            else if (name === 'event') type = value;
            else if (name === 'retry' && /^\d+$/.test(value)) retryMs = Number(value);
          });
          onStatus('reconnecting');
        }
      } catch (err) {
        if (abort.signal.aborted) return;
        onStatus(`reconnecting (${err instanceof Error ? err.message : String(err)})`);
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  };
  void connect();
  return { close: () => abort.abort() };
}
