import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { EventTypes, StreamTypes } from '@executor/contracts';
import { EventRecorder } from '@executor/common';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';

/**
 * Records that this runner started: whatever sandboxes it held before are gone (its
 * containers were swept), so sessions pinned to it from before are lost.
 */
@Injectable()
export class RunnerLifecycle implements OnApplicationBootstrap {
  constructor(
    private readonly recorder: EventRecorder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  async onApplicationBootstrap(): Promise<void> {
    await this.recorder.record(`runner-${this.config.RUNNER_ID}`, StreamTypes.Runner, 'any', [
      { type: EventTypes.RunnerStarted, data: { runner_id: this.config.RUNNER_ID } },
    ]);
  }
}
