import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutorError, parseRetryAfter, retryDelay } from './client';
import { Executor, Sandbox } from './sandbox';

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

/** A real HTTP server on loopback that answers as `handler` says; it counts what it got. */
async function serve(handler: Handler): Promise<{ url: string; hits: string[]; close: () => Promise<void> }> {
  const hits: string[] = [];
  const server: Server = createServer((req, res) => {
    hits.push(`${req.method} ${req.url}`);
    handler(req, res, hits.length);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

function refuse(res: ServerResponse, status: number, code: string, retryAfter?: string): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    ...(retryAfter !== undefined ? { 'retry-after': retryAfter } : {}),
  });
  res.end(JSON.stringify({ status: 'error', error: { code, message: `refused: ${code}` } }));
}

function json(res: ServerResponse, body: unknown): void {
  res.writeHead(200, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const RESULT = { status: 'success', stdout: '1\n', results: [], artifacts: [] };

describe('the SDK against a server that refuses', () => {
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('retries an idempotent call after 429 and 503, waiting as Retry-After says', async () => {
    server = await serve((_req, res, n) => {
      if (n === 1) return refuse(res, 429, 'RATE_LIMITED', '1');
      if (n === 2) return refuse(res, 503, 'DEPENDENCY_UNAVAILABLE', '0');
      json(res, { status: 'success', templates: [{ name: 'default' }] });
    });
    const started = Date.now();
    const templates = await new Executor({ baseUrl: server.url }).templates.list();
    expect(templates).toEqual([{ name: 'default' }]);
    expect(server.hits).toEqual(['GET /templates', 'GET /templates', 'GET /templates']);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
  });

  it('sends a run again only when the refusal says nothing ran', async () => {
    server = await serve((req, res, n) => {
      if (n === 1) return refuse(res, 429, 'CONCURRENCY_LIMIT', '0');
      if (n === 2) return json(res, RESULT);
      // The run may have happened: the caller hears it, nothing is sent again.
      refuse(res, 503, 'RUNNER_LOST');
    });
    const executor = new Executor({ baseUrl: server.url });
    await expect(executor.execute('print(1)')).resolves.toMatchObject({ stdout: '1\n' });
    expect(server.hits).toHaveLength(2);
    const lost = await executor.execute('print(1)').catch((e: unknown) => e);
    expect(lost).toBeInstanceOf(ExecutorError);
    expect(lost).toMatchObject({ status: 503, code: 'RUNNER_LOST' });
    expect(server.hits).toHaveLength(3);
  });

  it('gives up after maxRetries, with the last answer and its Retry-After', async () => {
    server = await serve((_req, res) => refuse(res, 503, 'RUNNER_BUSY', '0'));
    const err = await new Executor({ baseUrl: server.url, maxRetries: 2 })
      .execute('print(1)')
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ status: 503, code: 'RUNNER_BUSY', retryAfter: 0 });
    expect(server.hits).toHaveLength(3);
  });

  it('does not wait a Retry-After longer than maxRetryWait, nor retry a quota', async () => {
    server = await serve((req, res) =>
      req.url === '/templates' ? refuse(res, 429, 'RATE_LIMITED', '120') : refuse(res, 429, 'QUOTA_EXCEEDED'),
    );
    const executor = new Executor({ baseUrl: server.url, maxRetryWait: 5 });
    const started = Date.now();
    await expect(executor.templates.list()).rejects.toMatchObject({ code: 'RATE_LIMITED', retryAfter: 120 });
    await expect(executor.templates.get('x')).rejects.toMatchObject({ code: 'QUOTA_EXCEEDED' });
    expect(server.hits).toHaveLength(2);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('has a request timeout, and a run waits its own timeout on top', async () => {
    server = await serve((req, res) => {
      // Never answers /templates; answers a run after 600 ms.
      if (req.url === '/execute') setTimeout(() => json(res, RESULT), 600);
    });
    const executor = new Executor({ baseUrl: server.url, requestTimeout: 0.3 });
    const started = Date.now();
    await expect(executor.templates.list()).rejects.toMatchObject({ status: 0, code: 'REQUEST_TIMEOUT' });
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(290);
    expect(waited).toBeLessThan(3000);
    // 0.3 s + the run's 1 s: the reply at 0.6 s arrives in time.
    await expect(executor.execute('print(1)', { timeout: 1 })).resolves.toMatchObject({ stdout: '1\n' });
  });

  it('says when the server cannot be reached, and when a reply is not JSON', async () => {
    server = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('<html>not json</html>');
    });
    const executor = new Executor({ baseUrl: server.url });
    await expect(executor.templates.list()).rejects.toMatchObject({ code: 'BAD_RESPONSE' });
    const url = server.url;
    await server.close();
    server = undefined;
    await expect(new Executor({ baseUrl: url }).templates.list()).rejects.toMatchObject({
      status: 0,
      code: 'CONNECTION_FAILED',
    });
  });

  it("stops waiting for a retry when the caller's signal aborts", async () => {
    server = await serve((_req, res) => refuse(res, 429, 'RATE_LIMITED', '30'));
    const stop = new AbortController();
    setTimeout(() => stop.abort(new Error('cancelled by the caller')), 200);
    const started = Date.now();
    await expect(
      new Executor({ baseUrl: server.url }).execute('print(1)', { signal: stop.signal }),
    ).rejects.toThrow('cancelled by the caller');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(server.hits).toHaveLength(1);
  });

  it('gives session creation time for its sandbox to start and retries a destroy', async () => {
    server = await serve((req, res, n) => {
      if (req.url === '/session/create') return json(res, { session_id: 's1', template: 'default' });
      if (n === 2) return refuse(res, 503, 'DEPENDENCY_UNAVAILABLE', '0');
      json(res, { status: 'success', session_id: 's1' });
    });
    const sandbox = await Sandbox.create({ baseUrl: server.url, requestTimeout: 0.2 });
    await sandbox.kill();
    expect(server.hits).toEqual(['POST /session/create', 'POST /session/destroy', 'POST /session/destroy']);
  });
});

describe('retryDelay and parseRetryAfter', () => {
  const err = (status: number, code: string, retryAfter?: number) =>
    new ExecutorError(status, code, code, retryAfter);

  it('decide as the Python SDK does', () => {
    expect(retryDelay(err(429, 'RATE_LIMITED', 2), false, 0, 3, 60)).toBe(2);
    expect(retryDelay(err(503, 'IMAGE_NOT_READY', 30), false, 0, 3, 60)).toBe(30);
    expect(retryDelay(err(503, 'IMAGE_NOT_READY'), true, 0, 3, 60)).toBeUndefined();
    expect(retryDelay(err(503, 'RUNNER_LOST'), false, 0, 3, 60)).toBeUndefined();
    expect(retryDelay(err(503, 'DEPENDENCY_UNAVAILABLE'), false, 0, 3, 60)).toBeUndefined();
    expect(retryDelay(err(503, 'RUNNER_LOST'), true, 0, 3, 60)).toBe(0.5);
    expect(retryDelay(err(503, 'DEPENDENCY_UNAVAILABLE'), true, 2, 3, 60)).toBe(2);
    expect(retryDelay(err(503, 'DEPENDENCY_UNAVAILABLE'), true, 5, 9, 60)).toBe(8);
    expect(retryDelay(err(429, 'RATE_LIMITED', 2), false, 3, 3, 60)).toBeUndefined();
    expect(retryDelay(err(429, 'RATE_LIMITED', 120), false, 0, 3, 60)).toBeUndefined();
    expect(retryDelay(err(429, 'QUOTA_EXCEEDED', 1), true, 0, 3, 60)).toBeUndefined();
    expect(retryDelay(err(400, 'VALIDATION_ERROR'), true, 0, 3, 60)).toBeUndefined();
  });

  it('reads seconds and HTTP dates, and nothing else', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7);
    expect(parseRetryAfter('Thu, 01 Jan 2026 00:00:30 GMT', now)).toBe(30);
    expect(parseRetryAfter('Wed, 31 Dec 2025 23:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter(null, now)).toBeUndefined();
    expect(parseRetryAfter('-1', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter('9'.repeat(20), now)).toBeUndefined();
  });
});
