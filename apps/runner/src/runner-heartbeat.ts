import { Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { Subjects, type RunnerHeartbeat } from '@executor/contracts';
import { inFlight, NATS_CONNECTION, unexpectedErrorCount } from '@executor/common';
import { framesDropped } from './sandbox/sandbox';
import { Admission } from './execution/admission';
import { RunnerLifecycle } from './runner-lifecycle';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';
import { SessionSandboxes } from './session/session-sandboxes';

/**
 * Tells everyone, about once a second, that this runner is alive, what it can take and how
 * busy it is. A plain NATS message: heartbeats are not state changes and are not stored.
 */
@Injectable()
export class RunnerHeartbeatPublisher implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly instanceId = randomUUID();
  /** Heartbeats published since the start, and when the last one went out (ms since the epoch). */
  sent = 0;
  lastSentAt = 0;
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly admission: Admission,
    private readonly sessions: SessionSandboxes,
    private readonly lifecycle: RunnerLifecycle,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  /** The first beat goes out once RunnerStarted is in the log: a runner heard from is registered. */
  async onApplicationBootstrap(): Promise<void> {
    await this.lifecycle.register();
    this.beat();
    this.timer = setInterval(() => this.beat(), this.config.HEARTBEAT_INTERVAL_MS);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  heartbeat(): RunnerHeartbeat {
    const { running, queued } = this.admission.stats;
    return {
      runner_id: this.config.RUNNER_ID,
      instance_id: this.instanceId,
      capacity: this.admission.capacity,
      queue_limit: this.admission.queueLimit,
      running,
      queued,
      sessions: this.sessions.size,
      draining: inFlight.draining,
      interval_ms: this.config.HEARTBEAT_INTERVAL_MS,
      sent_at: new Date().toISOString(),
      unexpected_errors: unexpectedErrorCount(),
      frames_dropped: framesDropped(),
    };
  }

  private beat(): void {
    if (this.nc.isClosed()) return;
    this.nc.publish(Subjects.RunnerHeartbeat, JSON.stringify(this.heartbeat()));
    this.sent++;
    this.lastSentAt = Date.now();
  }
}
