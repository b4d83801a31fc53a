import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { withRetry } from '@executor/common';
import { SessionServiceConfig } from '../session-service.config';
import { SessionService } from './session.service';
import { RunnerWatch } from '../runners/runner-watch';

/**
 * Keeps sessions honest over time: expires idle ones, marks lost the sessions of a runner
 * that restarted or went silent (as RunnerWatch reports it), and reconciles with the runner
 * at start and on a timer.
 */
@Injectable()
export class SessionSupervisor implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(SessionSupervisor.name);
  private timer?: NodeJS.Timeout;
  private reconcileTimer?: NodeJS.Timeout;
  private sweeping = false;
  private readonly stopping = new AbortController();

  constructor(
    private readonly sessions: SessionService,
    @Inject(SessionServiceConfig) private readonly config: SessionServiceConfig,
    private readonly runners: RunnerWatch,
  ) {}

  onApplicationBootstrap(): void {
    this.runners.onRunnerGone((runnerId, atMs, reason) =>
      this.sessions.markLostOnRunner(
        runnerId,
        new Date(atMs).toISOString(),
        reason === 'runner_silent' ? 'the runner stopped sending heartbeats' : 'the runner restarted',
      ),
    );
    this.timer = setInterval(() => void this.sweep(), this.config.SESSION_SWEEP_INTERVAL_MS);
    this.timer.unref();
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
    this.stopping.abort();
    if (this.timer) clearInterval(this.timer);
    if (this.reconcileTimer) clearInterval(this.reconcileTimer);
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

  /** At start, once any runner answers: tried every second for half a minute. */
  private async reconcileWhenRunnerAnswers(): Promise<void> {
    try {
      await withRetry(() => this.sessions.reconcile(), {
        retryOn: () => true,
        attempts: 30,
        firstMs: 1000,
        maxMs: 1000,
        signal: this.stopping.signal,
      });
    } catch {
      if (!this.stopping.signal.aborted)
        this.logger.warn('could not reconcile sessions with the runner: it did not answer');
    }
  }
}
