import Database from 'better-sqlite3';
import { connect, JSONCodec } from 'nats';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { MetricsView } from '../../apps/metrics/src/projection/metrics-view';
import { recountMetrics } from '../../scripts/lib/recount';
import { ROOT, Stack, waitFor } from '../../scripts/lib/stack';

type Metrics = MetricsView;

/** A stack of its own: its metrics app is killed in the middle of the load. */
describe('metrics are a faithful view of the event log', () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await Stack.create({ SESSION_SWEEP_INTERVAL_MS: '300', MAX_SESSIONS_PER_TENANT: '100' });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
  });

  async function call<T>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await fetch(`${stack.info.apiUrl}${path}`, {
      method: body ? 'POST' : 'GET',
      headers: body ? { 'content-type': 'application/json' } : {},
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  const metrics = async () => (await call<{ metrics: Metrics }>('/metrics')).body.metrics;

  const recount = () => recountMetrics(stack.info.dbPath);

  /**
   * The metrics and a recount of the log at one position: read the metrics, then recount, until
   * the recount ends where the projection stood (nothing was appended in between). Two reads of
   * a log that moves are compared only when they describe the same prefix of it.
   */
  async function expectConsistent(): Promise<void> {
    let snapshot: { m: Metrics; counted: Awaited<ReturnType<typeof recount>> } | undefined;
    await waitFor(
      async () => {
        const m = await metrics();
        const counted = await recount();
        if (m.projection.lag !== 0 || m.projection.position !== counted.head) return false;
        snapshot = { m, counted };
        return true;
      },
      20000,
      'the projection to catch up',
    );
    const { m, counted } = snapshot!;
    const { head, ...expected } = counted;
    expect(m).toMatchObject(expected);
    expect(m.projection).toEqual({ position: head, head, lag: 0 });
  }

  it('matches a recount of the log after mixed load, with the metrics app killed midway', async () => {
    const ops: Array<() => Promise<unknown>> = [];
    const tenants = ['ta', 'tb', 'tc'];
    // What the load was answered: every run that got a 200 is an execution in the log.
    const oneOffStatuses: number[] = [];
    const sessionRunStatuses: number[] = [];
    const shortLived: Array<{ id: string; statuses: number[] }> = [];
    const oneOff = async (body: Record<string, unknown>) => {
      oneOffStatuses.push((await call('/execute', body)).status);
    };
    for (let i = 0; i < 60; i++) {
      const tenant_id = tenants[i % 3];
      ops.push(() => oneOff({ tenant_id, code: i % 5 === 0 ? 'raise ValueError(1)' : `print(${i})` }));
    }
    for (let i = 0; i < 3; i++)
      ops.push(() => oneOff({ tenant_id: 'ta', code: 'while True: pass', timeout: 1 }));
    ops.push(() => oneOff({ tenant_id: 'tb', code: 'print("x" * 2000000)' }));
    for (let i = 0; i < 20; i++) {
      ops.push(async () => {
        const ttl1 = i % 4 === 0;
        const s = await call<{ session_id: string }>('/session/create', {
          tenant_id: tenants[i % 3],
          scope: `scope-${i % 10}`,
          ...(ttl1 ? { ttl: 1 } : {}),
        });
        expect(s.status).toBe(200);
        const statuses: number[] = [];
        for (let k = 0; k < 4; k++)
          statuses.push(
            (await call('/session/execute', { session_id: s.body.session_id, code: `v = ${k}` })).status,
          );
        if (ttl1) shortLived.push({ id: s.body.session_id, statuses });
        else sessionRunStatuses.push(...statuses);
        if (i % 3 === 0) await call('/session/destroy', { session_id: s.body.session_id });
      });
    }
    let done = 0;
    const queue = [...ops];
    const workers = Array.from({ length: 4 }, async () => {
      for (let op = queue.shift(); op; op = queue.shift()) {
        await op();
        done++;
      }
    });
    await waitFor(async () => Promise.resolve(done >= ops.length / 3), 120000, 'a third of the load');
    await stack.stopProcess('metrics', 'SIGKILL');
    await new Promise((r) => setTimeout(r, 1000));
    stack.startApp('metrics');
    await Promise.all(workers);
    // Sessions with a 1 s ttl expire meanwhile (one may even expire between two of its runs on
    // a slow host, and refuse the rest with 410): those events count too. Once each has left the
    // active state, the load appends nothing more.
    await waitFor(
      async () => {
        for (const { id } of shortLived) {
          const view = await call<{ session: { state: string } }>(`/session/${id}`);
          if (view.body.session.state === 'active') return false;
        }
        return true;
      },
      30000,
      'the sessions with a 1 s ttl to expire',
    );
    expect(oneOffStatuses).toEqual(Array.from({ length: 64 }, () => 200));
    expect(sessionRunStatuses).toEqual(Array.from({ length: 60 }, () => 200));
    for (const { statuses } of shortLived)
      for (const status of statuses) expect([200, 410]).toContain(status);
    const answered = [...oneOffStatuses, ...sessionRunStatuses, ...shortLived.flatMap((s) => s.statuses)];
    await expectConsistent();
    const m = await metrics();
    expect(m.executions_total).toBeGreaterThanOrEqual(answered.filter((status) => status === 200).length);
    expect(m.timeouts).toBe(3);
    expect(m.sessions_expired).toBeGreaterThan(0);
    expect(m.latency_ms.p50).not.toBeNull();
    // The log itself is whole: positions and versions contiguous, every run finished.
    const check = spawnSync(process.execPath, [join(ROOT, 'dist/scripts/store-check.js')], {
      env: { ...process.env, EVENT_STORE_PATH: stack.info.dbPath },
      encoding: 'utf8',
    });
    expect(check.status).toBe(0);
    expect(JSON.parse(check.stdout)).toMatchObject({
      ok: true,
      position_gaps: [],
      version_breaks: [],
      unfinished_executions: [],
    });
  }, 300000);

  it('rebuilds from position 0 to the same numbers', async () => {
    const nc = await connect({ servers: stack.info.natsUrl });
    const jc = JSONCodec();
    const reply = await nc.request(
      'executor.metrics.rebuild',
      jc.encode({ pattern: 'executor.metrics.rebuild', data: {}, id: '1' }),
      { timeout: 60000 },
    );
    await nc.close();
    expect((jc.decode(reply.data) as { response: { position: number } }).response.position).toBe(
      (await recount()).head,
    );
    await expectConsistent();
  });

  it('exposes Prometheus text that a real parser reads, with the same numbers', async () => {
    const res = await fetch(`${stack.info.apiUrl}/metrics/prometheus`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const families = parsePrometheusTextFormat(await res.text());
    const family = (name: string) => families.find((f) => f.name === name)!;
    expect(family('executor_sessions_created_total').type).toBe('COUNTER');
    expect(Number(family('executor_sessions_created_total').metrics[0].value)).toBe(
      (await recount()).sessions_created,
    );
    const histogram = family('executor_execution_duration_seconds');
    expect(histogram.type).toBe('HISTOGRAM');
    expect(Number(histogram.metrics[0].count)).toBe((await recount()).executions_total);
    const byLabel = family('executor_executions_total').metrics;
    expect(byLabel.every((m) => m.labels?.template && m.labels.language && m.labels.status)).toBe(true);
    expect(byLabel.reduce((n, m) => n + Number(m.value), 0)).toBe((await recount()).executions_total);
  });

  it('answers admin queries with exactly the events filtered, in order, paged without gaps or repeats', async () => {
    const db = new Database(stack.info.dbPath, { readonly: true });
    const expected = (
      db
        .prepare(
          `SELECT position FROM events WHERE type = 'SessionExecuted' AND tenant_id = 'ta' ORDER BY position`,
        )
        .all() as Array<{ position: number }>
    ).map((r) => r.position);
    const sessionStream = (
      db.prepare(`SELECT stream_id FROM events WHERE type = 'SessionDestroyed' LIMIT 1`).get() as {
        stream_id: string;
      }
    ).stream_id;
    db.close();
    expect(expected.length).toBeGreaterThan(7);

    const asc: number[] = [];
    let after = 0;
    for (let page = 0; page < 100; page++) {
      const res = await call<{
        events: Array<{ position: number; type: string; tenant_id: string }>;
        next: number | null;
      }>(`/admin/events?type=SessionExecuted&tenant=ta&limit=7&after_position=${after}`);
      expect(res.body.events.every((e) => e.type === 'SessionExecuted' && e.tenant_id === 'ta')).toBe(true);
      asc.push(...res.body.events.map((e) => e.position));
      if (res.body.next === null) break;
      after = res.body.next;
    }
    expect(asc).toEqual(expected);

    const desc: number[] = [];
    let before: number | null = null;
    for (let page = 0; page < 100; page++) {
      const res: { body: { events: Array<{ position: number }>; next: number | null } } = await call(
        `/admin/events?type=SessionExecuted&tenant=ta&limit=5&order=desc${before ? `&before_position=${before}` : ''}`,
      );
      desc.push(...res.body.events.map((e) => e.position));
      if (res.body.next === null) break;
      before = res.body.next;
    }
    expect(desc).toEqual([...expected].reverse());

    const history = await call<{ events: Array<{ version: number; type: string }> }>(
      `/admin/streams/${sessionStream}`,
    );
    expect(history.body.events[0].type).toBe('SessionCreated');
    expect(history.body.events.map((e) => e.version)).toEqual(history.body.events.map((_, i) => i + 1));
    expect(history.body.events.at(-1)?.type).toBe('SessionDestroyed');
    expect((await call('/admin/streams/no-such-stream')).status).toBe(404);
    expect((await call('/admin/events?limit=5000')).status).toBe(400);
  });
});
