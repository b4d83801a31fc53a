import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import type { NatsConnection } from 'nats';
import { performance } from 'node:perf_hooks';
import { HealthDto, Subjects, type CheckResult, type ServiceHealthReply } from '@executor/contracts';
import { NATS_CONNECTION, NatsRpc } from '@executor/common';

const HEALTH_TIMEOUT_MS = 2000;
export const API_VERSION = '0.1.0';

type HealthSubject =
  | typeof Subjects.RunnerHealth
  | typeof Subjects.SessionHealth
  | typeof Subjects.TemplateHealth
  | typeof Subjects.MetricsHealth;

@ApiTags('health')
@Controller()
export class HealthController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /** Real checks of NATS, Docker (through the runner), the event store and every service; 503 when one is down. */
  @Get('health')
  @ApiOperation({ summary: 'Checks of NATS, Docker, the event store and every service' })
  @ApiOkResponse({ type: HealthDto, description: 'Healthy' })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'Degraded: a dependency is down' })
  async health(@Res({ passthrough: true }) res: Response) {
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
    const healthy = Object.values(checks).every((c) => c.status === 'healthy');
    res.status(healthy ? 200 : 503);
    return {
      status: healthy ? 'healthy' : 'degraded',
      service: 'executor-api',
      version: API_VERSION,
      checks,
    };
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
