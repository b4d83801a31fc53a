import { Inject, Injectable, OnApplicationBootstrap } from '@nestjs/common';
import { EventTypes, StreamTypes } from '@executor/contracts';
import { EventRecorder } from '@executor/common';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';

/**
 * Records that this runner started: whatever sandboxes it held before are gone (its
 * containers were swept), so sessions pinned to it from before are lost. The heartbeat waits
 * for it (register()), so a runner that is heard from is already in the log.
 */
@Injectable()
export class RunnerLifecycle implements OnApplicationBootstrap {
  constructor(
    private readonly recorder: EventRecorder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

  private registration?: Promise<void>;

  /** Appends RunnerStarted, once per process; every caller waits for the same append. */
  register(): Promise<void> {
    this.registration ??= this.recorder
      .record(`runner-${this.config.RUNNER_ID}`, StreamTypes.Runner, 'any', [
        { type: EventTypes.RunnerStarted, data: { runner_id: this.config.RUNNER_ID } },
      ])
      .then(() => undefined);
    return this.registration;
  }

  onApplicationBootstrap(): Promise<void> {
    return this.register();
  }
}
