import { LATENCY_BUCKETS, parseKey, percentile, totalsBy, type MetricsState } from './metrics-projection';

export interface MetricsView {
  sessions_created: number;
  sessions_reused: number;
  active_sessions: number;
  max_sessions: number;
  sessions_expired: number;
  sessions_destroyed: number;
  sessions_lost: number;
  executions_total: number;
  executions_by_status: Record<string, number>;
  executions_by_template: Record<string, number>;
  executions_by_language: Record<string, number>;
  executions_by_tenant: Record<string, number>;
  executions_by_kind: Record<string, number>;
  executions_pending: number;
  executions_lost: number;
  timeouts: number;
  oom_kills: number;
  truncations: number;
  session_states_lost: number;
  latency_ms: { p50: number | null; p95: number | null; p99: number | null; window: number };
  template_builds: { started: number; succeeded: number; failed: number };
  templates_registered: number;
  runner_starts: number;
  projection: { position: number; head: number; lag: number };
}

/** The JSON of `GET /metrics`: the seed's fields first, then the rest. */
export function metricsView(s: MetricsState, head: number, maxSessions: number): MetricsView {
  const recent = s.latency.recent;
  return {
    sessions_created: s.sessions.created,
    sessions_reused: s.sessions.reused,
    active_sessions: Object.keys(s.sessions.live).length,
    max_sessions: maxSessions,
    sessions_expired: s.sessions.expired,
    sessions_destroyed: s.sessions.destroyed,
    sessions_lost: s.sessions.lost,
    executions_total: Object.values(s.executions).reduce((a, b) => a + b, 0),
    executions_by_status: totalsBy(s, 'status'),
    executions_by_template: totalsBy(s, 'template'),
    executions_by_language: totalsBy(s, 'language'),
    executions_by_tenant: totalsBy(s, 'tenant'),
    executions_by_kind: totalsBy(s, 'kind'),
    executions_pending: Object.keys(s.pending).length,
    executions_lost: s.executions_lost,
    timeouts: s.timeouts,
    oom_kills: s.oom_kills,
    truncations: s.truncations,
    session_states_lost: s.state_lost,
    latency_ms: {
      p50: percentile(recent, 0.5),
      p95: percentile(recent, 0.95),
      p99: percentile(recent, 0.99),
      window: recent.length,
    },
    template_builds: { ...s.builds },
    templates_registered: s.templates_registered - s.templates_deleted,
    runner_starts: s.runner_starts,
    projection: { position: s.position, head, lag: Math.max(0, head - s.position) },
  };
}

const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
const labels = (l: Record<string, string>) =>
  `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(',')}}`;

/**
 * The Prometheus text exposition (version 0.0.4), prom-client style: `executor_` prefix,
 * `_total` counters, a latency histogram, labels for template, language and status.
 */
export function prometheusText(s: MetricsState, head: number, maxSessions: number): string {
  const out: string[] = [];
  const metric = (
    name: string,
    type: string,
    help: string,
    samples: Array<[Record<string, string>, number]>,
  ) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of samples) out.push(`${name}${Object.keys(l).length ? labels(l) : ''} ${v}`);
  };
  metric('executor_sessions_created_total', 'counter', 'Sessions created.', [[{}, s.sessions.created]]);
  metric('executor_sessions_reused_total', 'counter', 'Session creates answered with a live session.', [
    [{}, s.sessions.reused],
  ]);
  metric('executor_sessions_ended_total', 'counter', 'Sessions ended, by reason.', [
    [{ reason: 'expired' }, s.sessions.expired],
    [{ reason: 'destroyed' }, s.sessions.destroyed],
    [{ reason: 'lost' }, s.sessions.lost],
  ]);
  metric('executor_active_sessions', 'gauge', 'Live sessions.', [[{}, Object.keys(s.sessions.live).length]]);
  metric('executor_max_sessions', 'gauge', 'Configured maximum of live sessions.', [[{}, maxSessions]]);
  const byLabels = new Map<string, number>();
  for (const [k, n] of Object.entries(s.executions)) {
    const l = parseKey(k);
    const id = JSON.stringify([l.kind, l.template, l.language, l.status]);
    byLabels.set(id, (byLabels.get(id) ?? 0) + n);
  }
  metric(
    'executor_executions_total',
    'counter',
    'Finished executions.',
    [...byLabels].map(([id, n]) => {
      const [kind, template, language, status] = JSON.parse(id) as string[];
      return [{ kind, template, language, status }, n];
    }),
  );
  metric(
    'executor_execution_timeouts_total',
    'counter',
    'Executions killed or interrupted at their timeout.',
    [[{}, s.timeouts]],
  );
  metric(
    'executor_executions_lost_total',
    'counter',
    'One-off executions that never finished: their runner died or restarted mid-run.',
    [[{}, s.executions_lost]],
  );
  metric('executor_execution_oom_kills_total', 'counter', 'Executions killed for memory.', [
    [{}, s.oom_kills],
  ]);
  metric('executor_execution_truncations_total', 'counter', 'Executions whose output was cut at the cap.', [
    [{}, s.truncations],
  ]);
  out.push(
    '# HELP executor_execution_duration_seconds Execution time of user code.',
    '# TYPE executor_execution_duration_seconds histogram',
  );
  let cumulative = 0;
  LATENCY_BUCKETS.forEach((bound, i) => {
    cumulative += s.latency.buckets[i];
    out.push(`executor_execution_duration_seconds_bucket{le="${bound}"} ${cumulative}`);
  });
  out.push(
    `executor_execution_duration_seconds_bucket{le="+Inf"} ${s.latency.count}`,
    `executor_execution_duration_seconds_sum ${Math.round(s.latency.sum * 1e6) / 1e6}`,
    `executor_execution_duration_seconds_count ${s.latency.count}`,
  );
  metric('executor_template_builds_total', 'counter', 'Template image builds, by outcome.', [
    [{ outcome: 'started' }, s.builds.started],
    [{ outcome: 'succeeded' }, s.builds.succeeded],
    [{ outcome: 'failed' }, s.builds.failed],
  ]);
  metric('executor_projection_position', 'gauge', 'Last event position applied by the metrics projection.', [
    [{}, s.position],
  ]);
  metric('executor_projection_lag_events', 'gauge', 'Events in the store not yet applied.', [
    [{}, Math.max(0, head - s.position)],
  ]);
  return out.join('\n') + '\n';
}
