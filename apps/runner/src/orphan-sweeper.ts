import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';
import { SandboxLauncher } from './sandbox/sandbox-launcher';

/** Removes this runner's containers that nothing drives: all of them at start, then on a timer. */
@Injectable()
export class OrphanSweeper implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OrphanSweeper.name);
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly launcher: SandboxLauncher,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.sweep(0);
    this.timer = setInterval(() => void this.sweep(60), this.config.ORPHAN_SWEEP_INTERVAL_S * 1000);
    this.timer.unref();
  }

  onApplicationShutdown(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async sweep(minAgeSeconds: number): Promise<void> {
    try {
      const removed = await this.launcher.removeOrphans(minAgeSeconds);
      if (removed > 0) this.logger.log(`removed ${removed} orphaned container(s)`);
    } catch (err) {
      this.logger.warn(`orphan sweep failed: ${String(err)}`);
    }
  }
}
