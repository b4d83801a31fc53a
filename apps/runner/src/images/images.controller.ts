import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Subjects,
  type ImageBuildRequest,
  type ImageStatusInfo,
  type ImageStatusReply,
  type ImageStatusRequest,
} from '@executor/contracts';
import { ImageBuilder } from './image-builder';

/** Template images on this runner's Docker engine: their status, and builds started on request. */
@Controller()
export class ImagesController {
  constructor(private readonly builder: ImageBuilder) {}

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
}
