import { Controller, Inject } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import Docker from 'dockerode';
import { performance } from 'node:perf_hooks';
import { Subjects, type CheckResult, type ServiceHealthReply } from '@executor/contracts';
import { DOCKER } from '../sandbox/docker.provider';

/** The runner's answer to the API's health check: whether its Docker engine answers. */
@Controller()
export class HealthController {
  constructor(@Inject(DOCKER) private readonly docker: Docker) {}

  @MessagePattern(Subjects.RunnerHealth)
  async health(): Promise<ServiceHealthReply> {
    return { service: 'runner', checks: { docker: await this.pingDocker() } };
  }

  private async pingDocker(): Promise<CheckResult> {
    const t0 = performance.now();
    try {
      await this.docker.ping();
      return { status: 'healthy', latency_ms: Math.round(performance.now() - t0) };
    } catch {
      return { status: 'unhealthy', error: 'the Docker engine does not answer' };
    }
  }
}
