import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import Docker from 'dockerode';
import { performance } from 'node:perf_hooks';
import {
  Subjects,
  type CheckResult,
  type ImageStatus,
  type ImageStatusReply,
  type ImageStatusRequest,
  type ServiceHealthReply,
} from '@executor/contracts';
import { DOCKER } from '../sandbox/docker.provider';

@Controller()
export class HealthController {
  constructor(@Inject(DOCKER) private readonly docker: Docker) {}

  @MessagePattern(Subjects.RunnerHealth)
  async health(): Promise<ServiceHealthReply> {
    return { service: 'runner', checks: { docker: await this.pingDocker() } };
  }

  @MessagePattern(Subjects.RunnerImageStatus)
  async imageStatus(@Payload() req: ImageStatusRequest): Promise<ImageStatusReply> {
    const entries = await Promise.all(
      (req.images ?? []).map(async (image): Promise<[string, ImageStatus]> => {
        try {
          await this.docker.getImage(image).inspect();
          return [image, 'ready'];
        } catch (err) {
          return [image, (err as { statusCode?: number }).statusCode === 404 ? 'missing' : 'unknown'];
        }
      }),
    );
    return Object.fromEntries(entries);
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
