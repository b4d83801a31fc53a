import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { ErrorCodes, Subjects } from '@executor/contracts';
import { NatsRpc, RemoteError, withRetry } from '@executor/common';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';
import { SandboxPool } from './sandbox/sandbox-pool';

/**
 * Fills the pools named in POOL_SIZES at start, so the first requests find warm sandboxes.
 * Templates are owned by the template-service: ask it, and keep asking until it answers.
 */
@Injectable()
export class PoolWarmer implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(PoolWarmer.name);
  private readonly stopping = new AbortController();

  constructor(
    private readonly pool: SandboxPool,
    private readonly rpc: NatsRpc,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  onApplicationBootstrap(): void {
    for (const name of this.pool.warmTemplates) void this.warm(name);
  }

  onApplicationShutdown(): void {
    this.stopping.abort();
  }

  private async warm(name: string): Promise<void> {
    try {
      const spec = await withRetry(
        () => this.rpc.send(Subjects.TemplatesGet, { name }, this.config.RPC_TIMEOUT_MS),
        {
          retryOn: (err) => !(err instanceof RemoteError && err.code === ErrorCodes.UnknownTemplate),
          attempts: Infinity,
          firstMs: 250,
          maxMs: 10000,
          signal: this.stopping.signal,
        },
      );
      this.pool.warm(spec);
    } catch (err) {
      if (err instanceof RemoteError && err.code === ErrorCodes.UnknownTemplate)
        this.logger.warn(`POOL_SIZES names ${name}, which is not a template`);
      // Otherwise the runner is stopping: nothing to warm.
    }
  }
}
