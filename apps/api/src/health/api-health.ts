import { Inject, Injectable } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import { performance } from 'node:perf_hooks';
import { Subjects, type CheckResult, type ServiceHealthReply } from '@executor/contracts';
import { NATS_CONNECTION, NatsRpc } from '@executor/common';

const HEALTH_TIMEOUT_MS = 2000;

type HealthSubject =
  | typeof Subjects.RunnerHealth
  | typeof Subjects.SessionHealth
  | typeof Subjects.TemplateHealth
  | typeof Subjects.MetricsHealth;

/**
 * What the api needs to serve its requests: NATS, Docker and the event store, and the three
 * services on the request path. The metrics app is the read side: without it /metrics fails
 * and the projection lags (it catches up later), but executions and sessions are served, so
 * it is reported and never makes the api unready.
 */
const REQUIRED_CHECKS = ['nats', 'docker', 'event_store', 'runner', 'session_service', 'template_service'];

/** The api's view of its dependencies, as /health and /readyz report it. */
@Injectable()
export class ApiHealth {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** Real checks of NATS, Docker (through the runner), the event store and every service; `down`: the required ones that failed. */
  async probe(): Promise<{ checks: Record<string, CheckResult>; down: string[] }> {
    const [nats, runner, session, template, metrics] = await Promise.all([
      this.checkNats(),
      this.ask(Subjects.RunnerHealth),
      this.ask(Subjects.SessionHealth),
      this.ask(Subjects.TemplateHealth),
      this.ask(Subjects.MetricsHealth),
    ]);
    const checks: Record<string, CheckResult> = {
      nats,
      docker: runner.reply?.checks.docker ?? unreachable('runner'),
      event_store: session.reply?.checks.event_store ?? unreachable('session-service'),
      runner: runner.check,
      session_service: session.check,
      template_service: template.check,
      metrics: metrics.check,
    };
    return { checks, down: REQUIRED_CHECKS.filter((name) => checks[name]?.status !== 'healthy') };
  }

  private async checkNats(): Promise<CheckResult> {
    const t0 = performance.now();
    try {
      if (this.nc.isClosed()) throw new Error('closed');
      await withTimeout(this.nc.flush(), HEALTH_TIMEOUT_MS);
      return { status: 'healthy', latency_ms: Math.round(performance.now() - t0) };
    } catch {
      return { status: 'unhealthy', error: 'NATS does not answer' };
    }
  }

  private async ask(subject: HealthSubject): Promise<{ check: CheckResult; reply?: ServiceHealthReply }> {
    const t0 = performance.now();
    try {
      const reply = await this.rpc.send(subject, {}, HEALTH_TIMEOUT_MS);
      const ok = Object.values(reply.checks).every((c) => c.status === 'healthy');
      const latency = Math.round(performance.now() - t0);
      return {
        reply,
        check: ok
          ? { status: 'healthy', latency_ms: latency }
          : { status: 'unhealthy', latency_ms: latency, error: 'one of its checks failed' },
      };
    } catch {
      return { check: { status: 'unhealthy', error: `no answer within ${HEALTH_TIMEOUT_MS} ms` } };
    }
  }
}

function unreachable(service: string): CheckResult {
  return { status: 'unhealthy', error: `unknown: the ${service} does not answer` };
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('timeout')), ms);
    p.then(
      (v) => (clearTimeout(t), resolve(v)),
      (e: unknown) => (clearTimeout(t), reject(e instanceof Error ? e : new Error(String(e)))),
    );
  });
}
