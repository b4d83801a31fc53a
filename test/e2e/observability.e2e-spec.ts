import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'nats';
import { Subjects } from '@executor/contracts';
import { Stack, waitFor } from '../../scripts/lib/stack';

const TENANT_KEY = `key-tenant-${randomBytes(6).toString('hex')}`;
const ADMIN_KEY = `key-admin-${randomBytes(6).toString('hex')}`;
const SCRAPE_TOKEN = randomBytes(24).toString('hex');
const SERVICES = ['api', 'session-service', 'template-service', 'runner', 'metrics'];

type Families = ReturnType<typeof parsePrometheusTextFormat>;

/** A stack of its own with keys and a scrape token: its logs are read and its apps stopped. */
describe('logs, metrics and probes', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.create({
      EXECUTOR_API_KEYS: `t1:tenant:${TENANT_KEY},ops:admin:${ADMIN_KEY}`,
      METRICS_SCRAPE_TOKEN: SCRAPE_TOKEN,
    });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function call(
    path: string,
    key: string,
    init: { body?: unknown; headers?: Record<string, string> } = {},
  ) {
    const res = await fetch(`${stack.info.apiUrl}${path}`, {
      method: init.body === undefined ? 'GET' : 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...init.headers,
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: AbortSignal.timeout(120000),
    });
    return { status: res.status, text: await res.text(), headers: res.headers };
  }

  async function scrape(key: string): Promise<Families> {
    const res = await call('/metrics/prometheus', key);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return parsePrometheusTextFormat(res.text);
  }

  const family = (families: Families, name: string) => families.find((f) => f.name === name);
  const valueOf = (families: Families, name: string) =>
    (family(families, name)?.metrics ?? []).reduce((n, m) => n + Number((m as { value: string }).value), 0);
  const servicesIn = (families: Families) =>
    new Set(family(families, 'process_start_time_seconds')?.metrics.map((m) => m.labels?.service));

  /**
   * A scrape that every one of `services` answered and that `ok` accepts. The api merges the
   * answers that come within its scrape window (400 ms after the last one): a process busy for
   * longer is left out of that exposition, so one scrape proves nothing about who was asked.
   */
  async function scrapeOf(
    key: string,
    services: string[],
    what: string,
    ok: (families: Families) => boolean = () => true,
  ): Promise<Families> {
    let families: Families = [];
    await waitFor(
      async () => {
        families = await scrape(key);
        const answered = servicesIn(families);
        return services.every((s) => answered.has(s)) && ok(families);
      },
      20000,
      what,
    );
    return families;
  }

  function logLines(): Array<{ file: string; line: string }> {
    return readdirSync(stack.info.dir)
      .filter((f) => f.endsWith('.log') && !f.startsWith('nats'))
      .flatMap((file) =>
        readFileSync(join(stack.info.dir, file), 'utf8')
          .split('\n')
          .filter((line) => line.length > 0)
          .map((line) => ({ file, line })),
      );
  }

  it("writes a request's lines as one JSON object each, with the service and the request id, in every app it crossed", async () => {
    const requestId = `obs-${randomBytes(6).toString('hex')}`;
    const marker = `marker-${randomBytes(6).toString('hex')}`;
    const res = await call('/execute', TENANT_KEY, {
      body: { code: `print("${marker}")`, env: { SECRET_VALUE: `env-${marker}` } },
      headers: { 'x-request-id': requestId },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('x-request-id')).toBe(requestId);
    expect(JSON.parse(res.text)).toMatchObject({ status: 'success', stdout: `${marker}\n` });

    // The api's line is written when the response has finished, which may be just after the client read it.
    await waitFor(
      () =>
        Promise.resolve(logLines().some(({ file, line }) => file === 'api.log' && line.includes(requestId))),
      5000,
      "the api's request line",
    );
    const lines = logLines();
    // Every line of every app is one JSON object with its service, level and time.
    for (const { file, line } of lines) {
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(line) as Record<string, unknown>;
      } catch {
        throw new Error(`${file}: not a JSON line: ${line.slice(0, 200)}`);
      }
      expect({ file, service: typeof parsed.service, level: typeof parsed.level }).toEqual({
        file,
        service: 'string',
        level: 'string',
      });
      expect(Number.isNaN(Date.parse(String(parsed.time)))).toBe(false);
    }
    const ofRequest = lines
      .map(({ line }) => JSON.parse(line) as Record<string, unknown>)
      .filter((l) => l.request_id === requestId);
    expect(new Set(ofRequest.map((l) => l.service))).toEqual(
      new Set(['api', 'session-service', 'template-service', 'runner']),
    );
    expect(ofRequest.every((l) => l.correlation_id === requestId)).toBe(true);
    const access = ofRequest.find(
      (l) => l.service === 'api' && (l.res as { status?: number })?.status === 200,
    );
    expect(access).toMatchObject({ tenant: 't1', req: { method: 'POST', path: '/execute' } });
    expect(typeof access?.duration_ms).toBe('number');
    // No code, output, env value or key in any line.
    const all = lines.map((l) => l.line).join('\n');
    expect(all).not.toContain(marker);
    expect(all).not.toContain(TENANT_KEY);
  });

  it('exposes every app: default process metrics, the HTTP histogram, runner gauges and the projection', async () => {
    // The projection counts the run above once the metrics app has applied its events, which
    // it does from what NATS delivers (or, after a gap, from the store) after the run's reply.
    const families = await scrapeOf(
      ADMIN_KEY,
      SERVICES,
      'a scrape of every app with the run projected',
      (f) => valueOf(f, 'executor_executions_total') >= 1,
    );
    const servicesOf = (name: string) =>
      new Set(
        (family(families, name)?.metrics ?? []).map(
          (m) => (m as { labels?: Record<string, string> }).labels?.service,
        ),
      );
    expect(servicesOf('process_cpu_user_seconds_total')).toEqual(new Set(SERVICES));
    expect(servicesOf('nodejs_eventloop_lag_seconds')).toEqual(new Set(SERVICES));
    expect(servicesOf('process_start_time_seconds')).toEqual(new Set(SERVICES));

    expect(family(families, 'executor_http_request_duration_seconds')?.type).toBe('HISTOGRAM');
    // The parser drops a histogram's labels: they are read from the count lines of the text.
    const counts = (await call('/metrics/prometheus', ADMIN_KEY)).text
      .split('\n')
      .filter((l) => l.startsWith('executor_http_request_duration_seconds_count{'));
    expect(
      counts.some((l) => ['method="POST"', 'route="/execute"', 'status="200"'].every((p) => l.includes(p))),
    ).toBe(true);
    // Routes are patterns, never raw paths.
    expect(counts.every((l) => /route="(\/[a-z/{}:_-]*|unmatched)"/.test(l))).toBe(true);

    for (const name of [
      'executor_runner_pool_ready',
      'executor_runner_pool_target',
      'executor_runner_queue_depth',
      'executor_runner_capacity',
      'executor_runner_running',
      'executor_runner_last_heartbeat_timestamp_seconds',
    ]) {
      const f = family(families, name);
      expect({ name, type: f?.type }).toEqual({ name, type: 'GAUGE' });
      expect((f!.metrics[0] as { labels: Record<string, string> }).labels.runner_id).toBe(
        stack.info.runnerId,
      );
    }
    expect(valueOf(families, 'executor_runner_capacity')).toBeGreaterThan(0);
    expect(valueOf(families, 'executor_runner_heartbeats_sent_total')).toBeGreaterThan(0);
    expect(family(families, 'executor_runner_admission_refused_total')?.type).toBe('COUNTER');

    expect(valueOf(families, 'executor_executions_total')).toBeGreaterThanOrEqual(1);
    expect(family(families, 'executor_execution_duration_seconds')?.type).toBe('HISTOGRAM');
    expect(family(families, 'executor_template_build_attempts_total')?.type).toBe('COUNTER');
    expect(
      family(families, 'executor_template_builds_total')?.metrics.map(
        (m) => (m as { labels: Record<string, string> }).labels.outcome,
      ),
    ).toEqual(['succeeded', 'failed']);
    expect(valueOf(families, 'executor_executions_by_tenant_total')).toBeGreaterThanOrEqual(1);
  });

  it('shows per-tenant series to admin keys and the scrape token only', async () => {
    const tenantJson = JSON.parse((await call('/metrics', TENANT_KEY)).text) as {
      metrics: Record<string, unknown>;
    };
    expect(tenantJson.metrics.executions_total).toBeGreaterThanOrEqual(1);
    expect(tenantJson.metrics).not.toHaveProperty('executions_by_tenant');
    const adminJson = JSON.parse((await call('/metrics', ADMIN_KEY)).text) as {
      metrics: Record<string, unknown>;
    };
    expect(adminJson.metrics.executions_by_tenant).toMatchObject({ t1: expect.any(Number) as number });

    // Both scrapes are read once the metrics app (the projection's series) answered them.
    let tenantText = '';
    await waitFor(
      async () => {
        const res = await call('/metrics/prometheus', TENANT_KEY);
        tenantText = res.text;
        return res.status === 200 && servicesIn(parsePrometheusTextFormat(res.text)).has('metrics');
      },
      20000,
      "a tenant key's scrape that the metrics app answered",
    );
    expect(tenantText).not.toContain('tenant=');
    expect(tenantText).toContain('executor_executions_total');
    const byToken = await scrapeOf(SCRAPE_TOKEN, ['metrics'], "the scrape token's scrape");
    expect(family(byToken, 'executor_executions_by_tenant_total')).toBeDefined();

    // The token reads metrics and nothing else.
    expect((await call('/sessions?tenant_id=t1', SCRAPE_TOKEN)).status).toBe(401);
    expect((await call('/metrics', 'not-the-token-and-not-a-key')).status).toBe(401);
  });

  it('answers /livez and /readyz; only the metrics app down leaves /health 200 and the projection counts on after a restart', async () => {
    expect((await call('/livez', '')).status).toBe(200);
    expect(JSON.parse((await call('/readyz', '')).text)).toEqual({ status: 'ready' });
    expect((await call('/session/create', TENANT_KEY, { body: { scope: 'obs' } })).status).toBe(200);
    const before = await scrapeOf(
      ADMIN_KEY,
      SERVICES,
      'the projection to count the session',
      (f) => valueOf(f, 'executor_sessions_created_total') === 1,
    );

    await stack.stopProcess('metrics', 'SIGKILL');
    const health = await call('/health', '');
    expect(health.status).toBe(200);
    expect(JSON.parse(health.text)).toMatchObject({
      status: 'healthy',
      service: 'executor-api',
      checks: { metrics: { status: 'unhealthy' }, runner: { status: 'healthy' } },
    });
    expect((await call('/readyz', '')).status).toBe(200);
    // The other apps are still scraped.
    const without = await scrapeOf(
      ADMIN_KEY,
      SERVICES.filter((s) => s !== 'metrics'),
      'a scrape of the other apps',
    );
    expect(servicesIn(without).has('metrics')).toBe(false);
    expect(family(without, 'executor_runner_capacity')).toBeDefined();
    expect(family(without, 'executor_sessions_created_total')).toBeUndefined();

    stack.startApp('metrics');
    await waitFor(
      async () => (await call('/health', '')).text.includes('"metrics":{"status":"healthy"'),
      60000,
      'metrics back',
    );
    const after = await scrapeOf(ADMIN_KEY, SERVICES, 'a scrape of every app after the restart');
    for (const name of [
      'executor_executions_total',
      'executor_sessions_created_total',
      'executor_execution_duration_seconds',
    ]) {
      const count = (f: Families) =>
        name.endsWith('_seconds') ? Number(family(f, name)?.metrics[0]?.count) : valueOf(f, name);
      expect({ name, value: count(after) }).toEqual({ name, value: count(before) });
      expect(count(after)).toBeGreaterThan(0);
    }

    await stack.stopProcess('session-service');
    const unready = await call('/readyz', '');
    expect(unready.status).toBe(503);
    expect(JSON.parse(unready.text)).toMatchObject({
      status: 'unready',
      unhealthy: ['event_store', 'session_service'],
    });
    expect((await call('/health', '')).status).toBe(503);
    expect((await call('/livez', '')).status).toBe(200);
  });

  it('keeps a process that answers scrapes late, once it has answered one, and waits for it a while once it is gone', async () => {
    // A process of its own on the bus, 900 ms slow: more than the 400 ms a scrape waits past the
    // last answer it has no one left to wait for.
    const nc = await connect({ servers: stack.info.natsUrl });
    const registry = [
      {
        name: 'executor_test_slow_answers',
        help: 'a late answerer',
        type: 'gauge',
        aggregator: 'first',
        values: [{ value: 1, labels: { service: 'late', instance: 'late:1' } }],
      },
    ];
    nc.subscribe(Subjects.TelemetryScrape, {
      callback: (_err, msg) => void setTimeout(() => msg.respond(JSON.stringify(registry)), 900),
    });
    await nc.flush();
    const lateIn = async () =>
      (await call('/metrics/prometheus', ADMIN_KEY)).text.includes('instance="late:1"');
    // Its first answer may come too late for its scrape; from then on every scrape waits for it.
    await waitFor(lateIn, 20000, 'a scrape with the late process');
    for (let i = 0; i < 3; i++) expect(await lateIn()).toBe(true);
    await nc.close();
    // Gone: the next scrapes wait their whole 2 s for it, and still answer with the others.
    const started = Date.now();
    const families = await scrape(ADMIN_KEY);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1900);
    expect(family(families, 'executor_test_slow_answers')).toBeUndefined();
    expect(servicesIn(families).has('runner')).toBe(true);
  });
});
