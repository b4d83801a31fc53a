import { percentile, totalsBy, type MetricsState } from './metrics-projection';

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
