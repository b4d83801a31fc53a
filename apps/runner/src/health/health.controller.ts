import { Controller, Inject } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import Docker from 'dockerode';
import { performance } from 'node:perf_hooks';
import {
  Subjects,
  type CheckResult,
  type ImageBuildRequest,
  type ImageStatusInfo,
  type ImageStatusReply,
  type ImageStatusRequest,
  type ServiceHealthReply,
} from '@executor/contracts';
import { DOCKER } from '../sandbox/docker.provider';
import { ImageBuilder } from '../images/image-builder';

@Controller()
export class HealthController {
  constructor(
    @Inject(DOCKER) private readonly docker: Docker,
    private readonly builder: ImageBuilder,
  ) {}

  @MessagePattern(Subjects.RunnerHealth)
  async health(): Promise<ServiceHealthReply> {
    return { service: 'runner', checks: { docker: await this.pingDocker() } };
  }

  @MessagePattern(Subjects.RunnerImageStatus)
  async imageStatus(@Payload() req: ImageStatusRequest): Promise<ImageStatusReply> {
    const images = Array.isArray(req?.images) ? req.images.filter((i) => typeof i === 'string') : [];
    return Object.fromEntries(
      await Promise.all(images.map(async (i) => [i, await this.builder.status(i)] as const)),
    );
  }

  /** Starts a build in the background and answers with the image's status now. */
  @MessagePattern(Subjects.RunnerImageBuild)
  async build(@Payload() req: ImageBuildRequest): Promise<ImageStatusInfo> {
    const now = await this.builder.status(req.image);
    if (now.status === 'ready' || now.status === 'building') return now;
    void this.builder.ensure(req);
    return { status: 'building' };
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
