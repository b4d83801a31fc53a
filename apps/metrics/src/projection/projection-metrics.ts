import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry, type Histogram, type MetricValueWithName } from 'prom-client';
import { ScrapeResponder } from '@executor/common';
import { EventStore } from '@executor/event-store';
import { MetricsConfig } from '../metrics.config';
import { LATENCY_BUCKETS, parseKey, type MetricsState } from './metrics-projection';
import { MetricsProjector } from './metrics-projector';

/** Where the collector reads the projection, when Prometheus scrapes. */
export interface ProjectionSource {
  state(): MetricsState;
  head(): Promise<number>;
  maxSessions: number;
}

/** A counter whose values are read from the projection at each scrape: they survive restarts with it. */
function projectedCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  values: () => Array<[Record<string, string>, number]>,
): void {
  new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of values()) this.inc(labels, value);
    },
  });
}

function projectedGauge(
  registry: Registry,
  name: string,
  help: string,
  value: () => number | Promise<number>,
): void {
  new Gauge({
    name,
    help,
    registers: [registry],
    async collect() {
      this.set(await value());
    },
  });
}

/**
 * The execution-latency histogram of the projection. prom-client's Histogram only grows by
 * observations, so this reports the projected buckets as they are: a metric object of the
 * shape a registry reads (`name`, `help`, `type`, `get()`), as prom-client's own
 * AggregatorRegistry registers its merged metrics.
 */
function registerProjectedHistogram(registry: Registry, read: () => MetricsState['latency']): void {
  const name = 'executor_execution_duration_seconds';
  const help = 'Execution time of user code.';
  const metric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    collect: undefined,
    reset: () => undefined,
    get: () => {
      const latency = read();
      const values: MetricValueWithName<string>[] = [];
      let cumulative = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += latency.buckets[i] ?? 0;
        values.push({ metricName: `${name}_bucket`, labels: { le }, value: cumulative });
      });
      values.push(
        { metricName: `${name}_bucket`, labels: { le: '+Inf' }, value: latency.count },
        { metricName: `${name}_sum`, labels: {}, value: Math.round(latency.sum * 1e6) / 1e6 },
        { metricName: `${name}_count`, labels: {}, value: latency.count },
      );
      return Promise.resolve({ name, help, type: 'histogram', aggregator: 'sum', values });
    },
  };
  registry.registerMetric(metric as unknown as Histogram);
}

/** Finished executions by the labels of `executor_executions_total` (no tenant). */
function executionsByLabels(s: MetricsState): Array<[Record<string, string>, number]> {
  const totals = new Map<string, number>();
  for (const [k, n] of Object.entries(s.executions)) {
    const l = parseKey(k);
    const id = JSON.stringify([l.kind, l.template, l.language, l.status]);
    totals.set(id, (totals.get(id) ?? 0) + n);
  }
  return [...totals].map(([id, n]) => {
    const [kind, template, language, status] = JSON.parse(id) as string[];
    return [{ kind, template, language, status }, n];
  });
}

function executionsByTenant(s: MetricsState): Array<[Record<string, string>, number]> {
  const totals = new Map<string, number>();
  for (const [k, n] of Object.entries(s.executions)) {
    const tenant = parseKey(k).tenant;
    totals.set(tenant, (totals.get(tenant) ?? 0) + n);
  }
  return [...totals].map(([tenant, n]) => [{ tenant }, n]);
}

/**
 * The event-log projection as prom-client metrics: `executor_` prefix, `_total` counters, a
 * latency histogram, labels for template, language and status. Series with a `tenant` label
 * say who uses the service: the api shows them only to admin keys and the scrape token.
 */
export function registerProjectionMetrics(registry: Registry, source: ProjectionSource): void {
  const s = () => source.state();
  projectedCounter(registry, 'executor_sessions_created_total', 'Sessions created.', [], () => [
    [{}, s().sessions.created],
  ]);
  projectedCounter(
    registry,
    'executor_sessions_reused_total',
    'Session creates answered with a live session.',
    [],
    () => [[{}, s().sessions.reused]],
  );
  projectedCounter(
    registry,
    'executor_sessions_ended_total',
    'Sessions ended, by reason.',
    ['reason'],
    () => [
      [{ reason: 'expired' }, s().sessions.expired],
      [{ reason: 'destroyed' }, s().sessions.destroyed],
      [{ reason: 'lost' }, s().sessions.lost],
    ],
  );
  projectedGauge(
    registry,
    'executor_active_sessions',
    'Live sessions.',
    () => Object.keys(s().sessions.live).length,
  );
  projectedGauge(
    registry,
    'executor_max_sessions',
    'Configured maximum of live sessions.',
    () => source.maxSessions,
  );
  projectedCounter(
    registry,
    'executor_executions_total',
    'Finished executions.',
    ['kind', 'template', 'language', 'status'],
    () => executionsByLabels(s()),
  );
  projectedCounter(
    registry,
    'executor_executions_by_tenant_total',
    'Finished executions, by tenant (admin keys and the scrape token only).',
    ['tenant'],
    () => executionsByTenant(s()),
  );
  projectedCounter(
    registry,
    'executor_execution_timeouts_total',
    'Executions killed or interrupted at their timeout.',
    [],
    () => [[{}, s().timeouts]],
  );
  projectedCounter(
    registry,
    'executor_executions_lost_total',
    'One-off executions that never finished: their runner died or restarted mid-run.',
    [],
    () => [[{}, s().executions_lost]],
  );
  projectedCounter(
    registry,
    'executor_execution_oom_kills_total',
    'Executions killed for memory.',
    [],
    () => [[{}, s().oom_kills]],
  );
  projectedCounter(
    registry,
    'executor_execution_truncations_total',
    'Executions whose output was cut at the cap.',
    [],
    () => [[{}, s().truncations]],
  );
  registerProjectedHistogram(registry, () => s().latency);
  projectedCounter(
    registry,
    'executor_template_build_attempts_total',
    'Template image builds started (each ends as one of executor_template_builds_total).',
    [],
    () => [[{}, s().builds.started]],
  );
  projectedCounter(
    registry,
    'executor_template_builds_total',
    'Template image builds finished, by outcome.',
    ['outcome'],
    () => [
      [{ outcome: 'succeeded' }, s().builds.succeeded],
      [{ outcome: 'failed' }, s().builds.failed],
    ],
  );
  projectedGauge(
    registry,
    'executor_projection_position',
    'Last event position applied by the metrics projection.',
    () => s().position,
  );
  projectedGauge(
    registry,
    'executor_projection_lag_events',
    'Events in the store not yet applied.',
    async () => Math.max(0, (await source.head()) - s().position),
  );
}

/**
 * The projection's metrics, in a registry of their own without the process's `service` and
 * `instance` labels: they describe the event log, not this process, so two metrics apps
 * answer the same series and a merge keeps one.
 */
@Injectable()
export class ProjectionMetrics {
  readonly registry = new Registry();

  constructor(
    responder: ScrapeResponder,
    projector: MetricsProjector,
    store: EventStore,
    @Inject(MetricsConfig) config: MetricsConfig,
  ) {
    responder.include(this.registry);
    registerProjectionMetrics(this.registry, {
      state: () => projector.state,
      head: () => store.headPosition(),
      maxSessions: config.MAX_SESSIONS,
    });
  }
}
