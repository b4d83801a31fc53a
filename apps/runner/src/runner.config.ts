import { IsString, Matches } from 'class-validator';
import { availableParallelism, hostname } from 'node:os';
import { RUNNER_ID_PATTERN } from '@executor/contracts';
import { BaseConfig, IntRange } from '@executor/common';

export class RunnerConfig extends BaseConfig {
  /**
   * Stable id of this runner, unique among the runners on one NATS: its containers carry it as
   * a label (a restart finds its orphans) and its own subjects carry it (one subject token:
   * letters, digits, `_`, `-`).
   */
  @IsString()
  @Matches(RUNNER_ID_PATTERN)
  RUNNER_ID = `runner-${hostname()}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64);

  @IsString()
  DOCKER_SOCKET = '/var/run/docker.sock';

  /** Cap of stdout and of stderr per execution, in bytes; the rest is dropped and `truncated` set. */
  @IntRange(1024, 64 * 1024 * 1024)
  MAX_OUTPUT_BYTES = 1024 * 1024;

  /** Warm sandboxes per template, `name=size,…`; templates not named start on demand. */
  @IsString()
  @Matches(/^([a-z0-9][a-z0-9-]*=\d+)?(,[a-z0-9][a-z0-9-]*=\d+)*$/)
  POOL_SIZES = 'default=2,python-data=1,node-basic=1';

  /** Sandboxes started at once, across templates: bounds the load a burst puts on the engine. */
  @IntRange(1, 64)
  MAX_PARALLEL_STARTS = 4;

  /** Seconds a new sandbox's kernel may take to start and preload its modules. */
  @IntRange(1, 600)
  KERNEL_READY_TIMEOUT_S = 60;

  /** The local base image template images are built on. */
  @IsString()
  BASE_IMAGE = 'executor/base:bookworm';

  /** Seconds a run waits for its template's image to be built before it gets a 503 with retry_after. */
  @IntRange(0, 600)
  IMAGE_WAIT_S = 20;

  /** Seconds between sweeps for containers of this runner that nothing owns. */
  @IntRange(5, 3600)
  ORPHAN_SWEEP_INTERVAL_S = 60;

  /** Executions (one-off and session runs) this runner runs at once: its capacity. */
  @IntRange(1, 1024)
  RUNNER_CAPACITY = Math.max(4, 4 * availableParallelism());

  /** Executions that may wait for a slot; more are refused at once with 503 RUNNER_BUSY. */
  @IntRange(0, 10000)
  RUNNER_QUEUE_LIMIT = 64;

  /** Seconds an execution may wait for a slot before it is refused with 503 RUNNER_BUSY. */
  @IntRange(0, 300)
  RUNNER_QUEUE_WAIT_S = 10;

  /** Milliseconds between heartbeats on executor.runner.heartbeat. */
  @IntRange(100, 60000)
  HEARTBEAT_INTERVAL_MS = 1000;
}

export const RUNNER_CONFIG = Symbol('RUNNER_CONFIG');
