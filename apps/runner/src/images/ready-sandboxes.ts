import { Inject, Injectable } from '@nestjs/common';
import { ErrorCodes, type TemplateSpec } from '@executor/contracts';
import { domainError } from '@executor/common';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { ImageMissingError, type Sandbox } from '../sandbox/sandbox';
import { SandboxPool } from '../sandbox/sandbox-pool';
import { ImageBuilder } from './image-builder';

const RETRY_AFTER_S = 30;

/**
 * A sandbox of a template whose image may not be built yet: the build starts on first
 * use, the caller waits up to IMAGE_WAIT_S, then gets a 503 with retry_after. A build that
 * failed answers with its failure at once while it stands (FAILED_BUILD_STANDS_MS).
 */
@Injectable()
export class ReadySandboxes {
  constructor(
    private readonly pool: SandboxPool,
    private readonly builder: ImageBuilder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  async acquire(spec: TemplateSpec): Promise<Sandbox> {
    try {
      return await this.pool.acquire(spec);
    } catch (err) {
      if (!(err instanceof ImageMissingError)) throw err;
    }
    const failed = this.builder.standingFailure(spec.image);
    if (failed) throw this.failedToBuild(spec, failed.error);
    const build = this.builder.ensure({ image: spec.image, template: spec.name, build: spec.build });
    const status = await Promise.race([
      build,
      new Promise<null>((r) => setTimeout(() => r(null), this.config.IMAGE_WAIT_S * 1000).unref()),
    ]);
    if (status?.status === 'ready') return this.pool.acquire(spec);
    if (status?.status === 'failed') throw this.failedToBuild(spec, status.error);
    throw domainError(
      ErrorCodes.ImageNotReady,
      `the image of template ${spec.name} is being built; try again in a moment`,
      RETRY_AFTER_S,
    );
  }

  /** A build that failed is not tried again by a run: registering the template anew rebuilds it. */
  private failedToBuild(spec: TemplateSpec, error: string | undefined) {
    return domainError(
      ErrorCodes.ImageNotReady,
      `the image of template ${spec.name} failed to build: ${error ?? 'unknown error'}; delete and register the template again to rebuild it`,
    );
  }
}
