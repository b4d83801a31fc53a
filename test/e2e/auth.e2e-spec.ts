import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, ROOT } from '../../scripts/lib/stack';
import { ownStack } from './support/own-stack';

interface Reply {
  error: { code: string };
  status: string;
  timed_out: boolean;
  execution_time: number;
  stdout: string;
  session_id: string;
  session: { tenant_id: string };
  sessions: unknown[];
  events: unknown[];
}

const sha = (k: string) => createHash('sha256').update(k).digest('hex');

/**
 * Seconds of the rate window: three runs in a row (a cold sandbox each on a loaded host) and the
 * refused fourth must fall inside one window.
 */
const WINDOW_S = 12;

/**
 * Limited keys from a keys file, one tenant each, so every case starts with a window of its own:
 * a window is a tenant's and starts at its first run.
 */
const LIMITED = {
  rate: 'key-limited-rate',
  e2b: 'key-limited-e2b',
  concurrency: 'key-limited-concurrency',
  timeout: 'key-limited-timeout',
};

/** A stack of its own with API keys, per-tenant limits and a short rate-limit window. */
describe('API keys, tenants and limits', () => {
  const stack = ownStack(
    {
      EXECUTOR_API_KEYS: 't1:tenant:key-one,t2:tenant:key-two,ops:admin:key-admin',
      RATE_LIMIT_WINDOW_S: String(WINDOW_S),
    },
    (own) => {
      const file = join(own.info.dir, 'keys.json');
      writeFileSync(
        file,
        JSON.stringify(
          Object.entries(LIMITED).map(([name, key]) => ({
            key_sha256: sha(key),
            tenant: `tl-${name}`,
            role: 'tenant',
            limits: { executions_per_minute: 3, concurrent_executions: 1, max_timeout_s: 5 },
          })),
        ),
      );
      own.info.env.API_KEYS_FILE = file;
    },
  );

  async function call(
    path: string,
    init: { key?: string; header?: 'bearer' | 'x-api-key'; body?: unknown; method?: string } = {},
  ) {
    const headers: Record<string, string> = {};
    if (init.body !== undefined) headers['content-type'] = 'application/json';
    if (init.key) {
      if (init.header === 'x-api-key') headers['x-api-key'] = init.key;
      else headers.authorization = `Bearer ${init.key}`;
    }
    const res = await fetch(`${stack().info.apiUrl}${path}`, {
      method: init.method ?? (init.body !== undefined ? 'POST' : 'GET'),
      headers,
      body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    });
    return { status: res.status, headers: res.headers, body: (await res.json()) as Reply };
  }

  it('answers 401 without a key or with a bad one, and accepts Bearer and X-API-Key', async () => {
    expect((await call('/health')).status).toBe(200);
    const none = await call('/execute', { body: { tenant_id: 't1', code: 'print(1)' } });
    expect(none.status).toBe(401);
    expect(none.body.error.code).toBe('UNAUTHENTICATED');
    expect((await call('/execute', { key: 'nope', body: { code: 'print(1)' } })).status).toBe(401);
    expect((await call('/templates', { key: 'key-one' })).status).toBe(200);
    expect((await call('/templates', { key: 'key-one', header: 'x-api-key' })).status).toBe(200);
  });

  it('binds a tenant key to its tenant: another tenant_id is a 403, a missing one is filled in', async () => {
    const foreign = await call('/execute', { key: 'key-one', body: { tenant_id: 't2', code: 'print(1)' } });
    expect(foreign.status).toBe(403);
    const own = await call('/execute', { key: 'key-one', body: { code: 'print(1)' } });
    expect(own.status).toBe(200);
    expect(own.body.stdout).toBe('1\n');
    const session = await call('/session/create', { key: 'key-one', body: { scope: 's' } });
    expect(session.status).toBe(200);
    const id = session.body.session_id;
    // Another tenant's key sees no such session, anywhere.
    expect(
      (await call('/session/execute', { key: 'key-two', body: { session_id: id, code: '1' } })).status,
    ).toBe(404);
    expect((await call(`/session/${id}`, { key: 'key-two' })).status).toBe(404);
    expect((await call(`/session/files/list?session_id=${id}`, { key: 'key-two' })).status).toBe(404);
    expect((await call(`/session/${id}`, { key: 'key-one' })).body.session.tenant_id).toBe('t1');
    const listed = await call('/sessions', { key: 'key-two' });
    expect(listed.body.sessions).toEqual([]);
  });

  it('keeps admin routes for admin keys', async () => {
    expect((await call('/admin/events?limit=1', { key: 'key-one' })).status).toBe(403);
    const admin = await call('/admin/events?limit=1', { key: 'key-admin' });
    expect(admin.status).toBe(200);
    expect(admin.body.events).toHaveLength(1);
  });

  it('trips and recovers the per-tenant rate limit, with RateLimit headers', async () => {
    const replies = [];
    for (let i = 0; i < 4; i++)
      replies.push(await call('/execute', { key: LIMITED.rate, body: { code: 'print(1)' } }));
    expect(replies[0].headers.get('ratelimit-limit')).toBe('3');
    expect(replies[0].headers.get('ratelimit-remaining')).toBe('2');
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    const last = replies[3];
    expect(last.body.error.code).toBe('RATE_LIMITED');
    const retryAfter = Number(last.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(WINDOW_S);
    // Retry-After is honest: once it has passed, the tenant may run again.
    await new Promise((r) => setTimeout(r, retryAfter * 1000 + 100));
    expect((await call('/execute', { key: LIMITED.rate, body: { code: 'print(1)' } })).status).toBe(200);
  });

  it("counts a tenant's runs in one window across /execute and E2B's code interpreter", async () => {
    const created = await fetch(`${stack().info.apiUrl}/e2b/v2/sandboxes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': LIMITED.e2b },
      body: JSON.stringify({ templateID: 'default' }),
    });
    expect(created.status).toBe(201);
    const { sandboxID } = (await created.json()) as { sandboxID: string };
    const runCode = () =>
      fetch(`${stack().info.apiUrl}/e2b/execute`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'x-api-key': LIMITED.e2b,
          'e2b-sandbox-id': sandboxID,
        },
        body: JSON.stringify({ code: '1' }),
      }).then(async (r) => ({ status: r.status, text: await r.text() }));
    const oneOffs = [];
    for (let i = 0; i < 2; i++)
      oneOffs.push((await call('/execute', { key: LIMITED.e2b, body: { code: 'print(1)' } })).status);
    expect(oneOffs).toEqual([200, 200]);
    // The third run of the window, through the E2B routes (another Nest module), is the last one.
    expect((await runCode()).status).toBe(200);
    expect((await call('/execute', { key: LIMITED.e2b, body: { code: 'print(1)' } })).body.error.code).toBe(
      'RATE_LIMITED',
    );
    expect((await runCode()).status).toBe(429);
  });

  it('limits runs at once and the timeout a request may ask for', async () => {
    const tooLong = await call('/execute', {
      key: LIMITED.concurrency,
      body: { code: 'print(1)', timeout: 10 },
    });
    expect(tooLong.status).toBe(429);
    expect(tooLong.body.error.code).toBe('QUOTA_EXCEEDED');
    const [a, b] = await Promise.all([
      call('/execute', { key: LIMITED.concurrency, body: { code: 'import time; time.sleep(1)' } }),
      new Promise((r) => setTimeout(r, 300)).then(() =>
        call('/execute', { key: LIMITED.concurrency, body: { code: 'print(2)' } }),
      ),
    ]);
    expect(a.status).toBe(200);
    expect(b.status).toBe(429);
    expect(b.body.error.code).toBe('CONCURRENCY_LIMIT');
  });

  it("holds a run without a timeout to the key's max_timeout_s, not the template's longer default", async () => {
    // The default template's timeout is 30 s; this key may have 5 s, asked for or not.
    const oneOff = await call('/execute', {
      key: LIMITED.timeout,
      body: { code: 'import time; time.sleep(20)' },
    });
    expect(oneOff.status).toBe(200);
    expect(oneOff.body).toMatchObject({ status: 'timeout', timed_out: true });
    expect(oneOff.body.execution_time).toBeLessThan(10);
    const session = await call('/session/create', { key: LIMITED.timeout, body: { scope: 'capped' } });
    expect(session.status).toBe(200);
    const run = await call('/session/execute', {
      key: LIMITED.timeout,
      body: { session_id: session.body.session_id, code: 'import time; time.sleep(20)' },
    });
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ status: 'timeout', timed_out: true });
    expect(run.body.execution_time).toBeLessThan(10);
  });

  it('sends security headers and no CORS headers unless configured', async () => {
    const res = await fetch(`${stack().info.apiUrl}/health`, {
      headers: { origin: 'http://example.invalid' },
    });
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('refuses to serve a non-loopback address without keys', async () => {
    const port = await freePort();
    const child = spawn(process.execPath, [join(ROOT, 'dist/apps/api/src/main.js')], {
      env: {
        ...process.env,
        API_HOST: '0.0.0.0',
        API_PORT: String(port),
        NATS_URL: stack().info.natsUrl,
        EXECUTOR_API_KEYS: '',
        API_KEYS_FILE: '',
      },
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((r) => child.on('exit', r));
    expect(code).not.toBe(0);
    expect(stderr).toContain('no API keys are configured');
  });
});
