import { Inject, Injectable } from '@nestjs/common';
import { Counter, Gauge, Registry } from 'prom-client';
import { Admission } from '../execution/admission';
import { RunnerHeartbeatPublisher } from '../runner-heartbeat';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { SandboxPool } from '../sandbox/sandbox-pool';
import { SessionSandboxes } from '../session/session-sandboxes';

/**
 * The runner's state as gauges, read at each scrape: warm pools per template, the execution
 * queue and admission (capacity, running, queued, refusals), sessions held and heartbeats.
 * Every series has `runner_id`, the id sessions are pinned to.
 */
@Injectable()
export class RunnerMetrics {
  constructor(
    registry: Registry,
    pool: SandboxPool,
    admission: Admission,
    sessions: SessionSandboxes,
    heartbeat: RunnerHeartbeatPublisher,
    @Inject(RUNNER_CONFIG) config: RunnerConfig,
  ) {
    const runner_id = config.RUNNER_ID;
    const gauge = (name: string, help: string, value: () => number) =>
      new Gauge({
        name,
        help,
        labelNames: ['runner_id'],
        registers: [registry],
        collect() {
          this.set({ runner_id }, value());
        },
      });
    const poolGauge = (name: string, help: string, key: 'ready' | 'starting' | 'waiting' | 'target') =>
      new Gauge({
        name,
        help,
        labelNames: ['runner_id', 'template'],
        registers: [registry],
        collect() {
          this.reset();
          for (const p of pool.stats()) this.set({ runner_id, template: p.template }, p[key]);
        },
      });
    poolGauge('executor_runner_pool_ready', 'Warm sandboxes ready to be handed out, by template.', 'ready');
    poolGauge(
      'executor_runner_pool_starting',
      'Sandboxes being started for a pool, by template.',
      'starting',
    );
    poolGauge(
      'executor_runner_pool_waiting',
      'Runs waiting for a sandbox of an empty pool, by template.',
      'waiting',
    );
    poolGauge(
      'executor_runner_pool_target',
      'Warm sandboxes a pool keeps (POOL_SIZES), by template.',
      'target',
    );
    gauge(
      'executor_runner_capacity',
      'Executions the runner runs at once (RUNNER_CAPACITY).',
      () => admission.capacity,
    );
    gauge('executor_runner_running', 'Executions running now.', () => admission.stats.running);
    gauge('executor_runner_queue_depth', 'Executions waiting for a slot.', () => admission.stats.queued);
    gauge(
      'executor_runner_queue_limit',
      'Executions that may wait for a slot (RUNNER_QUEUE_LIMIT).',
      () => admission.queueLimit,
    );
    gauge('executor_runner_sessions', 'Sandboxes held for sessions.', () => sessions.size);
    gauge(
      'executor_runner_last_heartbeat_timestamp_seconds',
      'When the runner last published its heartbeat (Unix time).',
      () => heartbeat.lastSentAt / 1000,
    );
    gauge(
      'executor_runner_heartbeat_interval_seconds',
      'Configured time between heartbeats.',
      () => config.HEARTBEAT_INTERVAL_MS / 1000,
    );
    new Counter({
      name: 'executor_runner_heartbeats_sent_total',
      help: 'Heartbeats published since the runner started.',
      labelNames: ['runner_id'],
      registers: [registry],
      collect() {
        this.reset();
        this.inc({ runner_id }, heartbeat.sent);
      },
    });
    new Counter({
      name: 'executor_runner_admission_refused_total',
      help: 'Executions refused with RUNNER_BUSY, by reason (the queue was full, or the wait ran out).',
      labelNames: ['runner_id', 'reason'],
      registers: [registry],
      collect() {
        this.reset();
        const refused = admission.refused;
        this.inc({ runner_id, reason: 'queue_full' }, refused.queue_full);
        this.inc({ runner_id, reason: 'wait_timeout' }, refused.wait_timeout);
      },
    });
  }
}
