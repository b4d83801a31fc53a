import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import Docker from 'dockerode';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';
import { LABEL_MANAGED, LABEL_RUNNER } from './sandbox/container-options';
import { DOCKER } from './sandbox/docker.provider';
import { SandboxPool } from './sandbox/sandbox-pool';

/**
 * Removes this runner's containers that nothing in this process owns: all of them at start
 * (a crashed predecessor's), then on a timer (young ones are spared: they may be starting).
 */
@Injectable()
export class OrphanSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrphanSweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    @Inject(DOCKER) private readonly docker: Docker,
    private readonly pool: SandboxPool,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep(0);
    this.timer = setInterval(() => void this.sweep(120), this.config.ORPHAN_SWEEP_INTERVAL_S * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  async sweep(minAgeSeconds: number): Promise<number> {
    try {
      const containers = await this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL_MANAGED}=true`, `${LABEL_RUNNER}=${this.config.RUNNER_ID}`] },
      });
      const owned = this.pool.ownedContainerIds();
      const now = Date.now() / 1000;
      const orphans = containers.filter((c) => !owned.has(c.Id) && now - c.Created >= minAgeSeconds);
      await Promise.all(
        orphans.map((c) =>
          this.docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined),
        ),
      );
      if (orphans.length > 0) this.logger.log(`removed ${orphans.length} orphaned container(s)`);
      return orphans.length;
    } catch (err) {
      this.logger.warn(`orphan sweep failed: ${String(err)}`);
      return 0;
    }
  }
}
