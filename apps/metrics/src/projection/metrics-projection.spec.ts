import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventEnvelope, EventType } from '@executor/contracts';
import { storedEvent } from '@executor/contracts/testing/envelopes';
import { applyEvent, emptyState, type MetricsState } from './metrics-projection';
import { Registry } from 'prom-client';
import { metricsView } from './metrics-view';
import { registerProjectionMetrics } from './projection-metrics';

/** The exposition of the projection's collector over `s`, as Prometheus would scrape it. */
function prometheusText(s: MetricsState, head: number, maxSessions: number): Promise<string> {
  const registry = new Registry();
  registerProjectionMetrics(registry, { state: () => s, head: () => Promise.resolve(head), maxSessions });
  return registry.metrics();
}

let position = 0;
const ev = (type: EventType, data: object, tenant = 't1'): EventEnvelope =>
  storedEvent({ type, position: ++position, tenant_id: tenant, data: data as never });

const finished = (id: string, status: string, ms: number, extra: object = {}) =>
  ev('ExecutionFinished', {
    execution_id: id,
    status,
    exit_code: status === 'success' ? 0 : 1,
    duration_ms: ms,
    timed_out: status === 'timeout',
    oom_killed: false,
    truncated: false,
    stdout_bytes: 0,
    stderr_bytes: 0,
    artifacts_count: 0,
    ...extra,
  });

describe('metrics projection', () => {
  beforeEach(() => (position = 0));

  it('counts sessions, executions by label, timeouts and latency', () => {
    const s = emptyState();
    const events = [
      ev('SessionCreated', {
        session_id: 'a',
        tenant_id: 't1',
        template: 'default',
        scope: 'x',
        ttl_s: 60,
        metadata: {},
        runner_id: 'r',
      }),
      ev('SessionReused', { session_id: 'a' }),
      ev('SessionExecuted', {
        session_id: 'a',
        execution_id: 'e0',
        language: 'python',
        status: 'success',
        exit_code: 0,
        duration_ms: 4,
        timed_out: false,
        oom_killed: false,
        truncated: true,
        state_lost: false,
        code_bytes: 1,
        code_sha256: 'h',
      }),
      ev('ExecutionStarted', {
        execution_id: 'e1',
        tenant_id: 't2',
        template: 'python-data',
        language: 'python',
      }),
      finished('e1', 'success', 20),
      ev('ExecutionStarted', { execution_id: 'e2', tenant_id: 't2', template: 'default', language: 'bash' }),
      finished('e2', 'timeout', 2000),
      ev('SessionExpired', { session_id: 'a', idle_s: 61 }),
      ev('TemplateBuildStarted', { hash: 'h', image: 'i', template: 'c' }),
      ev('TemplateBuilt', { hash: 'h', image: 'i', template: 'c', size_bytes: 1, duration_ms: 1 }),
    ];
    events.forEach((e) => applyEvent(s, e));
    const v = metricsView(s, 12, 200);
    expect(v).toMatchObject({
      sessions_created: 1,
      sessions_reused: 1,
      active_sessions: 0,
      sessions_expired: 1,
      max_sessions: 200,
      executions_total: 3,
      executions_by_status: { success: 2, timeout: 1 },
      executions_by_template: { default: 2, 'python-data': 1 },
      executions_by_language: { python: 2, bash: 1 },
      executions_by_tenant: { t1: 1, t2: 2 },
      timeouts: 1,
      truncations: 1,
      template_builds: { started: 1, succeeded: 1, failed: 0 },
      projection: { position: 10, head: 12, lag: 2 },
    });
    expect(v.latency_ms).toEqual({ p50: 20, p95: 2000, p99: 2000, window: 3 });
  });

  it('counts a lost execution apart: no longer pending, not a finished one', async () => {
    const s = emptyState();
    [
      ev('ExecutionStarted', { execution_id: 'x', tenant_id: 't1', template: 'default', language: 'python' }),
      ev('ExecutionLost', { execution_id: 'x', runner_id: 'r1', reason: 'runner_restarted' }),
    ].forEach((e) => applyEvent(s, e));
    const view = metricsView(s, position, 10);
    expect(view).toMatchObject({ executions_pending: 0, executions_lost: 1, executions_total: 0 });
    expect(await prometheusText(s, position, 10)).toContain('executor_executions_lost_total 1');
  });

  it('applies each event once: a replay or an older event changes nothing', () => {
    const s = emptyState();
    const e = ev('SessionCreated', { session_id: 'b', tenant_id: 't', template: 'default' });
    expect(applyEvent(s, e)).toBe(true);
    expect(applyEvent(s, e)).toBe(false);
    expect(metricsView(s, 1, 1).sessions_created).toBe(1);
  });

  it('writes a Prometheus exposition with cumulative buckets', async () => {
    const s = emptyState();
    applyEvent(
      s,
      ev('ExecutionStarted', { execution_id: 'x', tenant_id: 't', template: 'default', language: 'python' }),
    );
    applyEvent(s, finished('x', 'success', 30));
    const text = await prometheusText(s, 2, 10);
    expect(text).toContain(
      'executor_executions_total{kind="oneoff",template="default",language="python",status="success"} 1',
    );
    expect(text).toContain('executor_execution_duration_seconds_bucket{le="0.025"} 0');
    expect(text).toContain('executor_execution_duration_seconds_bucket{le="0.05"} 1');
    expect(text).toContain('executor_execution_duration_seconds_bucket{le="+Inf"} 1');
    expect(text).toContain('executor_projection_lag_events 0');
    expect(text).toContain('executor_executions_by_tenant_total{tenant="t"} 1');
  });

  it('counts build attempts apart from their outcomes', async () => {
    const s = emptyState();
    ['TemplateBuildStarted', 'TemplateBuildStarted', 'TemplateBuilt'].forEach((type, i) =>
      applyEvent(s, { ...ev(type as EventType, { name: 'x' }), position: i + 1 }),
    );
    const text = await prometheusText(s, 3, 10);
    expect(text).toContain('executor_template_build_attempts_total 2');
    expect(text).toContain('executor_template_builds_total{outcome="succeeded"} 1');
    expect(text).toContain('executor_template_builds_total{outcome="failed"} 0');
    expect(text).not.toContain('outcome="started"');
  });

  it('reads the projection at each scrape: a restored state shows the counters it holds', async () => {
    const s = emptyState();
    applyEvent(s, ev('SessionCreated', { session_id: 'a', tenant_id: 't', template: 'default' }));
    const restored = JSON.parse(JSON.stringify(s)) as MetricsState;
    expect(await prometheusText(restored, s.position, 10)).toContain('executor_sessions_created_total 1');
    expect(await prometheusText(restored, s.position + 4, 10)).toContain('executor_projection_lag_events 4');
  });
});

describe('the Grafana dashboard in docs/', () => {
  it('reads only metrics the exposition has', async () => {
    const dashboard = readFileSync(join(__dirname, '../../../../docs/grafana-dashboard.json'), 'utf8');
    const used = new Set(dashboard.match(/executor_[a-z_]+/g));
    const exposed = await prometheusText(emptyState(), 0, 1);
    expect(used.size).toBeGreaterThan(5);
    for (const name of used) expect(exposed).toContain(name);
  });
});
