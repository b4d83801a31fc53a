import type { EventDataMap, EventEnvelope } from '@executor/contracts';

/** Histogram bucket bounds of execution latency, in seconds. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
/** Percentiles are exact over the most recent executions (by position), a bounded window. */
export const LATENCY_WINDOW = 10000;

type Labels = {
  template: string;
  language: string;
  status: string;
  tenant: string;
  kind: 'oneoff' | 'session';
};

/** The projected state: plain data, so it can be stored as JSON next to its checkpoint. */
export interface MetricsState {
  position: number;
  sessions: {
    created: number;
    reused: number;
    expired: number;
    destroyed: number;
    lost: number;
    /** Live sessions: session id -> template and tenant (removed when they end). */
    live: Record<string, { template: string; tenant: string }>;
  };
  /** One-off executions started and not finished yet. */
  pending: Record<string, { template: string; language: string; tenant: string }>;
  /** Finished executions by `kind|template|language|status|tenant`. */
  executions: Record<string, number>;
  timeouts: number;
  oom_kills: number;
  truncations: number;
  state_lost: number;
  /** One-off executions that never finished: their runner died or restarted mid-run. */
  executions_lost: number;
  latency: { buckets: number[]; count: number; sum: number; recent: number[] };
  builds: { started: number; succeeded: number; failed: number };
  templates_registered: number;
  templates_deleted: number;
  runner_starts: number;
}

export function emptyState(): MetricsState {
  return {
    position: 0,
    sessions: { created: 0, reused: 0, expired: 0, destroyed: 0, lost: 0, live: {} },
    pending: {},
    executions: {},
    timeouts: 0,
    oom_kills: 0,
    truncations: 0,
    state_lost: 0,
    executions_lost: 0,
    latency: { buckets: LATENCY_BUCKETS.map(() => 0), count: 0, sum: 0, recent: [] },
    builds: { started: 0, succeeded: 0, failed: 0 },
    templates_registered: 0,
    templates_deleted: 0,
    runner_starts: 0,
  };
}

const key = (l: Labels) => [l.kind, l.template, l.language, l.status, l.tenant].join('|');
export const parseKey = (k: string): Labels => {
  const [kind, template, language, status, tenant] = k.split('|');
  return { kind: kind as Labels['kind'], template, language, status, tenant };
};

/**
 * Applies events to the state, each exactly once: an event at or below the position is
 * ignored, so replays and duplicates change nothing. Pure: no I/O.
 */
export function applyEvent(s: MetricsState, e: EventEnvelope): boolean {
  if (e.position <= s.position) return false;
  s.position = e.position;
  switch (e.type) {
    case 'ExecutionStarted': {
      const d = e.data as EventDataMap['ExecutionStarted'];
      s.pending[d.execution_id] = { template: d.template, language: d.language, tenant: d.tenant_id };
      break;
    }
    case 'ExecutionFinished': {
      const d = e.data as EventDataMap['ExecutionFinished'];
      const started = s.pending[d.execution_id] ?? {
        template: 'unknown',
        language: 'unknown',
        tenant: 'unknown',
      };
      delete s.pending[d.execution_id];
      finished(s, { kind: 'oneoff', ...started, status: d.status }, d);
      break;
    }
    case 'ExecutionLost': {
      const d = e.data as EventDataMap['ExecutionLost'];
      delete s.pending[d.execution_id];
      s.executions_lost++;
      break;
    }
    case 'SessionCreated': {
      const d = e.data as EventDataMap['SessionCreated'];
      s.sessions.created++;
      s.sessions.live[d.session_id] = { template: d.template, tenant: d.tenant_id };
      break;
    }
    case 'SessionReused':
      s.sessions.reused++;
      break;
    case 'SessionDeadlineMoved':
      break;
    case 'SessionExecuted': {
      const d = e.data as EventDataMap['SessionExecuted'];
      const session = s.sessions.live[d.session_id] ?? {
        template: 'unknown',
        tenant: e.tenant_id ?? 'unknown',
      };
      finished(
        s,
        {
          kind: 'session',
          template: session.template,
          tenant: session.tenant,
          language: d.language,
          status: d.status,
        },
        d,
      );
      if (d.state_lost) s.state_lost++;
      break;
    }
    case 'SessionExpired':
    case 'SessionDestroyed':
    case 'SessionLost': {
      const id = (e.data as { session_id: string }).session_id;
      if (s.sessions.live[id]) {
        delete s.sessions.live[id];
        if (e.type === 'SessionExpired') s.sessions.expired++;
        else if (e.type === 'SessionDestroyed') s.sessions.destroyed++;
        else s.sessions.lost++;
      }
      break;
    }
    case 'TemplateBuildStarted':
      s.builds.started++;
      break;
    case 'TemplateBuilt':
      s.builds.succeeded++;
      break;
    case 'TemplateBuildFailed':
      s.builds.failed++;
      break;
    case 'TemplateRegistered':
      s.templates_registered++;
      break;
    case 'TemplateDeleted':
      s.templates_deleted++;
      break;
    case 'RunnerStarted':
      s.runner_starts++;
      break;
    case 'ProcessStarted':
    case 'ProcessEnded':
      break;
    default: {
      const _never: never = e.type;
      return Boolean(_never);
    }
  }
  return true;
}

function finished(
  s: MetricsState,
  labels: Labels,
  d: { duration_ms: number; timed_out: boolean; oom_killed: boolean; truncated: boolean },
): void {
  const k = key(labels);
  s.executions[k] = (s.executions[k] ?? 0) + 1;
  if (d.timed_out) s.timeouts++;
  if (d.oom_killed) s.oom_kills++;
  if (d.truncated) s.truncations++;
  const seconds = d.duration_ms / 1000;
  s.latency.count++;
  s.latency.sum += seconds;
  const i = LATENCY_BUCKETS.findIndex((b) => seconds <= b);
  if (i >= 0) s.latency.buckets[i]++;
  s.latency.recent.push(d.duration_ms);
  if (s.latency.recent.length > LATENCY_WINDOW)
    s.latency.recent.splice(0, s.latency.recent.length - LATENCY_WINDOW);
}

export function percentile(values: number[], q: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

/** Totals of finished executions grouped by one label. */
export function totalsBy(s: MetricsState, label: keyof Labels): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, n] of Object.entries(s.executions)) {
    const v = parseKey(k)[label];
    out[v] = (out[v] ?? 0) + n;
  }
  return out;
}
