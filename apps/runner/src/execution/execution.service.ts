import { Inject, Injectable, Logger } from '@nestjs/common';
import { RpcException } from '@nestjs/microservices';
import { createHash } from 'node:crypto';
import {
  ErrorCodes,
  ExecutionDecider,
  executionStream,
  kernelFor,
  MAX_FILE_BYTES,
  MAX_TOTAL_FILE_BYTES,
  StreamTypes,
  workspacePathError,
  type ExecutionCommand,
  type ExecutionEvent,
  type ExecutionResult,
  type ExecutionState,
  type RunnerExecuteCommand,
} from '@executor/contracts';
import { domainError, EventRecorder, NATS_CONNECTION, withRetry } from '@executor/common';
import type { NatsConnection } from 'nats';
import { executeStreamed } from '../sandbox/run-stream';
import { CommandHandler, EventStoreUnavailableError, type Loaded } from '@executor/event-store';
import { Admission } from './admission';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { ImageMissingError, type KernelOutcome, type Sandbox } from '../sandbox/sandbox';
import { SandboxPool } from '../sandbox/sandbox-pool';
import { toResult } from './execution-result';
import { ContextKernel } from '../sandbox/context-kernel';
import { RUN_LIMITS, type SandboxLimits } from '../sandbox/run-limits';
import { ReadySandboxes } from '../images/ready-sandboxes';
import { DOCKER } from '../sandbox/docker.provider';
import Docker from 'dockerode';

/** Runs one execution: records that it started, runs it in a fresh sandbox, records how it ended. */
@Injectable()
export class ExecutionService {
  private readonly logger = new Logger(ExecutionService.name);
  private readonly executions: CommandHandler<ExecutionState, ExecutionCommand, ExecutionEvent>;

  constructor(
    private readonly pool: SandboxPool,
    private readonly sandboxes: ReadySandboxes,
    @Inject(DOCKER) private readonly docker: Docker,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly recorder: EventRecorder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
    private readonly admission: Admission,
    @Inject(RUN_LIMITS) private readonly limits: SandboxLimits,
  ) {
    this.executions = new CommandHandler(ExecutionDecider, StreamTypes.Execution, recorder.store, recorder);
  }

  private knownRuntimes?: Promise<Set<string>>;

  /** The OCI runtimes the engine offers (runc, runsc, …), asked once. */
  private runtimes(): Promise<Set<string>> {
    this.knownRuntimes ??= this.docker
      .info()
      .then((info: { Runtimes?: Record<string, unknown> }) => new Set(Object.keys(info.Runtimes ?? {})))
      .catch((err: unknown) => {
        this.knownRuntimes = undefined;
        throw err;
      });
    return this.knownRuntimes;
  }

  async execute(cmd: RunnerExecuteCommand): Promise<ExecutionResult> {
    if (!cmd.template.languages.includes(cmd.language)) {
      throw domainError(
        ErrorCodes.UnsupportedLanguage,
        `template ${cmd.template.name} does not run ${cmd.language}; it runs: ${cmd.template.languages.join(', ')}`,
      );
    }
    if (cmd.template.runtime && !(await this.runtimes()).has(cmd.template.runtime)) {
      throw domainError(
        ErrorCodes.UnsupportedRuntime,
        `the ${cmd.template.runtime} runtime is not installed on this runner's Docker engine`,
      );
    }
    const filesBytes = checkFiles(cmd);
    // Backpressure: wait for a slot (bounded), or be refused with 503 RUNNER_BUSY at once.
    return this.admission.run(() => this.run(cmd, filesBytes));
  }

  private async run(cmd: RunnerExecuteCommand, filesBytes: number): Promise<ExecutionResult> {
    const streamId = executionStream(cmd.execution_id);
    const meta = { tenantId: cmd.tenant_id, correlationId: cmd.correlation_id };
    // A new execution id has no stream yet: decided on the empty state, appended at version 0.
    const started = await this.executions.handle(
      streamId,
      {
        type: 'StartExecution',
        execution_id: cmd.execution_id,
        tenant_id: cmd.tenant_id,
        scope: cmd.scope,
        template: cmd.template.name,
        language: cmd.language,
        runner_id: this.config.RUNNER_ID,
        code_bytes: Buffer.byteLength(cmd.code),
        code_sha256: createHash('sha256').update(cmd.code).digest('hex'),
        files_count: cmd.files.length,
        files_bytes: filesBytes,
        timeout_s: cmd.timeout,
      },
      { known: { state: ExecutionDecider.initialState, version: 0 }, meta, retries: 0 },
    );

    // The used sandbox is removed once the run's end is recorded, so its removal (and the
    // pool's refill) come after the reply instead of competing with it.
    let sandbox: Sandbox | undefined;
    try {
      return await this.runIn(cmd, streamId, started, meta, (s) => (sandbox = s));
    } finally {
      if (sandbox) this.pool.discard(sandbox);
    }
  }

  private async runIn(
    cmd: RunnerExecuteCommand,
    streamId: string,
    started: Loaded<ExecutionState>,
    meta: { tenantId: string; correlationId?: string },
    acquired: (sandbox: Sandbox) => void,
  ): Promise<ExecutionResult> {
    let outcome: KernelOutcome;
    try {
      const sandbox = await this.sandboxes.acquire(cmd.template);
      acquired(sandbox);
      // A streaming caller that goes away stops the run: the sandbox is thrown away anyway.
      // A language of one of the template's context kernels runs in a context beside the first.
      const kind = kernelFor(cmd.template, cmd.language);
      const kernel =
        kind && kind !== cmd.template.kernel
          ? await ContextKernel.start(sandbox, kind, '/workspace', this.config.KERNEL_READY_TIMEOUT_S * 1000)
          : sandbox;
      outcome = await executeStreamed(
        this.nc,
        kernel,
        {
          code: cmd.code,
          language: cmd.language,
          files: cmd.files,
          env: cmd.env,
          ...(cmd.stdin !== undefined ? { stdin: cmd.stdin } : {}),
        },
        cmd.timeout * 1000,
        'kill',
        cmd.stream_id,
      );
    } catch (err) {
      if (err instanceof RpcException) {
        await this.finish(
          streamId,
          started,
          { type: 'FailExecution', sandbox_error: 'image_not_ready' },
          meta,
        );
        throw err;
      }
      const missing = err instanceof ImageMissingError;
      const reason = missing ? 'image_missing' : 'sandbox_failed';
      if (!missing) this.logger.error(`sandbox failure in ${cmd.execution_id}: ${String(err)}`);
      await this.finish(streamId, started, { type: 'FailExecution', sandbox_error: reason }, meta);
      throw missing
        ? domainError(
            ErrorCodes.ImageNotReady,
            `the image of template ${cmd.template.name} is not built yet; run scripts/build-images.sh ${cmd.template.name}`,
          )
        : domainError(ErrorCodes.SandboxError, 'the sandbox could not run the code; try again');
    }

    const result = toResult({ ...cmd, replyBytes: this.limits.replyBytes }, outcome);
    await this.finish(
      streamId,
      started,
      {
        type: 'FinishExecution',
        outcome: {
          status: result.status,
          exit_code: result.exit_code,
          duration_ms: Math.round(result.execution_time * 1000),
          timed_out: result.timed_out,
          oom_killed: result.oom_killed,
          truncated: result.truncated,
          stdout_bytes: outcome.output.stdout.total,
          stderr_bytes: outcome.output.stderr.total,
          artifacts_count: result.artifacts.length,
        },
      },
      meta,
    );
    return result;
  }

  /**
   * Records how a run ended. A store that cannot be written is retried for a few seconds; if
   * it stays down the caller gets the 503 and the session-service later marks the run lost.
   * A run already marked lost (its runner was taken for dead) keeps that marker.
   */
  private async finish(
    streamId: string,
    started: Loaded<ExecutionState>,
    command: Extract<ExecutionCommand, { type: 'FinishExecution' | 'FailExecution' }>,
    meta: { tenantId: string; correlationId?: string },
  ): Promise<void> {
    // Decided on the state this run started with; a stream that moved is read and decided again.
    const { stored } = await withRetry(
      () => this.executions.handle(streamId, command, { known: started, meta }),
      {
        retryOn: (err) => err instanceof EventStoreUnavailableError,
        ...FINISH_RETRY,
      },
    );
    if (stored.length === 0) {
      this.logger.warn(`${streamId} was marked lost before it finished; its end is not recorded`);
    }
  }
}

/** About four seconds of retries for a store that cannot be written. */
const FINISH_RETRY = { attempts: 6, firstMs: 250, maxMs: 1000 };

function checkFiles(cmd: RunnerExecuteCommand): number {
  let total = 0;
  for (const f of cmd.files) {
    const problem = workspacePathError(f.path);
    if (problem) throw domainError(ErrorCodes.ValidationError, `files: ${problem}`);
    const size = Buffer.byteLength(f.content_b64, 'base64');
    if (size > MAX_FILE_BYTES) throw domainError(ErrorCodes.PayloadTooLarge, `file ${f.path} is over 10 MB`);
    total += size;
  }
  if (total > MAX_TOTAL_FILE_BYTES)
    throw domainError(ErrorCodes.PayloadTooLarge, 'files are over 100 MB in total');
  return total;
}
