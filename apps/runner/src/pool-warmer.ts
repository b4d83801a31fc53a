import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Subjects } from '@executor/contracts';
import { NatsRpc } from '@executor/common';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';
import { SandboxPool } from './sandbox/sandbox-pool';

/**
 * Fills the pools named in POOL_SIZES at start, so the first requests find warm sandboxes.
 * Templates are owned by the template-service: ask it, and keep asking until it answers.
 */
@Injectable()
export class PoolWarmer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PoolWarmer.name);
  private stopped = false;

  constructor(
    private readonly pool: SandboxPool,
    private readonly rpc: NatsRpc,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  onApplicationBootstrap(): void {
    for (const name of this.pool.warmTemplates) void this.warm(name);
  }

  onApplicationShutdown(): void {
    this.stopped = true;
  }

  private async warm(name: string): Promise<void> {
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        const spec = await this.rpc.send(Subjects.TemplatesGet, { name }, this.config.RPC_TIMEOUT_MS);
        this.pool.warm(spec);
        return;
      } catch (err) {
        if ((err as { code?: string }).code === 'UNKNOWN_TEMPLATE') {
          this.logger.warn(`POOL_SIZES names ${name}, which is not a template`);
          return;
        }
        await new Promise((r) => setTimeout(r, Math.min(10000, 250 * 2 ** attempt)));
      }
    }
  }
}
