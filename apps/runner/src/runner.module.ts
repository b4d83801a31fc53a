import { Module } from '@nestjs/common';
import { NATS_CONNECTION } from '@executor/common';
import { RUN_LIMITS, sandboxLimitsOf } from './sandbox/run-limits';
import { ExecutionController } from './execution/execution.controller';
import { ExecutionService } from './execution/execution.service';
import { HealthController } from './health/health.controller';
import { ImagesController } from './images/images.controller';
import { OrphanSweeper } from './orphan-sweeper';
import { RUNNER_CONFIG, type RunnerConfig } from './runner.config';
import { createDocker, DOCKER } from './sandbox/docker.provider';
import { SandboxPool } from './sandbox/sandbox-pool';
import { SandboxNetwork } from './sandbox/sandbox-network';
import { ImageBuilder } from './images/image-builder';
import { ReadySandboxes } from './images/ready-sandboxes';
import { PoolWarmer } from './pool-warmer';
import { RunnerLifecycle } from './runner-lifecycle';
import { SessionSandboxController } from './session/session.controller';
import { SessionSandboxes } from './session/session-sandboxes';
import { Admission } from './execution/admission';
import { RunnerHeartbeatPublisher } from './runner-heartbeat';
import { RunnerMetrics } from './metrics/runner-metrics';
import { SandboxProcesses } from './process/sandbox-processes';

/** NATS, the event store and the config (RUNNER_CONFIG) come from runMicroservice. */
@Module({
  controllers: [ExecutionController, HealthController, ImagesController, SessionSandboxController],
  providers: [
    { provide: DOCKER, inject: [RUNNER_CONFIG], useFactory: createDocker },
    { provide: RUN_LIMITS, inject: [RUNNER_CONFIG, NATS_CONNECTION], useFactory: sandboxLimitsOf },
    {
      provide: Admission,
      inject: [RUNNER_CONFIG],
      useFactory: (config: RunnerConfig) =>
        new Admission(config.RUNNER_CAPACITY, config.RUNNER_QUEUE_LIMIT, config.RUNNER_QUEUE_WAIT_S * 1000),
    },
    RunnerHeartbeatPublisher,
    SandboxPool,
    SandboxNetwork,
    ImageBuilder,
    ReadySandboxes,
    PoolWarmer,
    SessionSandboxes,
    RunnerLifecycle,
    ExecutionService,
    OrphanSweeper,
    RunnerMetrics,
    SandboxProcesses,
  ],
})
export class RunnerModule {}
