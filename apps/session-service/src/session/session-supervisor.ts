import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { NatsConnection, Subscription } from 'nats';
import { eventSubject, EventTypes, StreamTypes, type EventEnvelope } from '@executor/contracts';
import { NATS_CONNECTION } from '@executor/common';
import { SessionServiceConfig } from '../session-service.config';
import { SessionService } from './session.service';
import { RunnerWatch } from '../runners/runner-watch';

/**
 * Keeps sessions honest over time: expires idle ones, marks lost the sessions of a runner
 * that restarted, and reconciles with the runner at start. Events from runners are read
 * with a plain subscription (no queue group), so every session-service sees every one.
 */
@Injectable()
export class SessionSupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionSupervisor.name);
  private timer?: NodeJS.Timeout;
  private reconcileTimer?: NodeJS.Timeout;
  private subscription?: Subscription;
  private sweeping = false;

  constructor(
    private readonly sessions: SessionService,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SessionServiceConfig) private readonly config: SessionServiceConfig,
    private readonly runners: RunnerWatch,
  ) {}

  onApplicationBootstrap(): void {
    this.runners.onRunnerSilent((runnerId, atMs) =>
      this.sessions.markLostOnRunner(
        runnerId,
        new Date(atMs).toISOString(),
        'the runner stopped sending heartbeats',
      ),
    );
    this.timer = setInterval(() => void this.sweep(), this.config.SESSION_SWEEP_INTERVAL_MS);
    this.timer.unref();
    this.subscription = this.nc.subscribe(eventSubject(StreamTypes.Runner, EventTypes.RunnerStarted));
    void this.listen(this.subscription);
    void this.reconcileWhenRunnerAnswers();
    this.reconcileTimer = setInterval(
      () => void this.reconcile(),
      this.config.SESSION_RECONCILE_INTERVAL_S * 1000,
    );
    this.reconcileTimer.unref();
  }

  private async reconcile(): Promise<void> {
    try {
      await this.sessions.reconcile();
    } catch (err) {
      this.logger.warn(`reconcile failed: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
    this.subscription?.unsubscribe();
  }

  private async sweep(): Promise<void> {
    if (this.sweeping) return;
    this.sweeping = true;
    try {
      const expired = await this.sessions.expireIdle();
      if (expired > 0) this.logger.log(`expired ${expired} idle session(s)`);
    } catch (err) {
      this.logger.warn(`expiry sweep failed: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.sweeping = false;
    }
  }

  private async listen(sub: Subscription): Promise<void> {
    for await (const msg of sub) {
      try {
        const event = JSON.parse(new TextDecoder().decode(msg.data)) as EventEnvelope<'RunnerStarted'>;
        await this.sessions.markLostOnRunner(event.data.runner_id, event.occurred_at, 'the runner restarted');
      } catch (err) {
        this.logger.warn(
          `could not handle a runner event: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
  }

  private async reconcileWhenRunnerAnswers(): Promise<void> {
    for (let attempt = 0; attempt < 30; attempt++) {
      try {
        await this.sessions.reconcile();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 1000));
      }
    }
    this.logger.warn('could not reconcile sessions with the runner: it did not answer');
  }
}
