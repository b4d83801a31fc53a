import { Inject, Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import {
  ErrorCodes,
  EventTypes,
  MAX_FILE_BYTES,
  MAX_TOTAL_FILE_BYTES,
  StreamTypes,
  workspacePathError,
  type Artifact,
  type ExecutionError,
  type RichResult,
  type ExecutionResult,
  type ExecutionStatus,
  type RunnerExecuteCommand,
} from '@executor/contracts';
import { domainError } from '@executor/common';
import { EventRecorder } from '@executor/event-store';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { ImageMissingError, type KernelOutcome } from '../sandbox/sandbox';
import { SandboxPool } from '../sandbox/sandbox-pool';
import { DOCKER } from '../sandbox/docker.provider';
import Docker from 'dockerode';

/** Runs one execution: records that it started, runs it in a fresh sandbox, records how it ended. */
@Injectable()
export class ExecutionService {
  private readonly logger = new Logger(ExecutionService.name);

  constructor(
    private readonly pool: SandboxPool,
    @Inject(DOCKER) private readonly docker: Docker,
    private readonly recorder: EventRecorder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {}

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
    if (cmd.template.network) {
      throw domainError(
        ErrorCodes.SandboxError,
        `template ${cmd.template.name} needs network, not supported yet`,
      );
    }
    const filesBytes = checkFiles(cmd);
    const streamId = `execution-${cmd.execution_id}`;
    const meta = { tenantId: cmd.tenant_id, correlationId: cmd.correlation_id };
    await this.recorder.record(
      streamId,
      StreamTypes.Execution,
      0,
      [
        {
          type: EventTypes.ExecutionStarted,
          data: {
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
        },
      ],
      meta,
    );

    let outcome: KernelOutcome;
    try {
      const sandbox = await this.pool.acquire(cmd.template);
      try {
        outcome = await sandbox.execute(
          { code: cmd.code, language: cmd.language, files: cmd.files, env: cmd.env },
          cmd.timeout * 1000,
        );
      } finally {
        this.pool.discard(sandbox);
      }
    } catch (err) {
      const missing = err instanceof ImageMissingError;
      const reason = missing ? 'image_missing' : 'sandbox_failed';
      if (!missing) this.logger.error(`sandbox failure in ${cmd.execution_id}: ${String(err)}`);
      await this.recorder.record(
        streamId,
        StreamTypes.Execution,
        1,
        [finishedEvent(cmd, null, null, reason)],
        meta,
      );
      throw missing
        ? domainError(
            ErrorCodes.ImageNotReady,
            `the image of template ${cmd.template.name} is not built yet; run scripts/build-images.sh ${cmd.template.name}`,
          )
        : domainError(ErrorCodes.SandboxError, 'the sandbox could not run the code; try again');
    }

    const result = toResult(cmd, outcome);
    await this.recorder.record(
      streamId,
      StreamTypes.Execution,
      1,
      [finishedEvent(cmd, result, outcome)],
      meta,
    );
    return result;
  }
}

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

/** Results and output files may not exceed this in one reply (NATS carries it whole). */
const MAX_RICH_BYTES = 16 * 1024 * 1024;

const EXTENSIONS: Record<string, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/svg+xml': 'svg',
  'text/html': 'html',
  'application/json': 'json',
  'text/markdown': 'md',
  'text/latex': 'tex',
};
const BINARY = new Set(['image/png', 'image/jpeg', 'image/gif', 'application/pdf']);

export function toResult(cmd: RunnerExecuteCommand, o: KernelOutcome): ExecutionResult {
  const stdout = o.stdout.text();
  const stderr = o.stderr.text();
  let status: ExecutionStatus;
  let error: ExecutionError | undefined;
  if (o.timedOut) {
    status = 'timeout';
    error = {
      name: 'TimeoutError',
      value: `execution exceeded the timeout of ${cmd.timeout} s and was killed`,
    };
  } else if (o.oomKilled) {
    status = 'oom';
    error = {
      name: 'MemoryError',
      value: `the sandbox ran out of memory (limit ${cmd.template.memory_limit}) and was killed`,
    };
  } else if (o.died) {
    status = 'sandbox_died';
    error = { name: 'SandboxDied', value: `the sandbox stopped during the run (exit code ${o.exitCode})` };
  } else if (o.exitCode === 0) {
    status = 'success';
  } else {
    status = 'error';
    error = o.error ?? { name: 'ExitError', value: `the program exited with code ${o.exitCode}` };
  }

  let budget = MAX_RICH_BYTES;
  let richTruncated = false;
  const results: RichResult[] = [];
  const artifacts: Artifact[] = [];
  for (const r of o.results) {
    const size = JSON.stringify(r.data).length;
    if (size > budget) {
      richTruncated = true;
      continue;
    }
    budget -= size;
    results.push(r);
    const mime = Object.keys(EXTENSIONS).find((m) => m in r.data);
    if (mime) {
      const value = r.data[mime];
      const content = typeof value === 'string' ? value : JSON.stringify(value);
      const binary = BINARY.has(mime);
      artifacts.push({
        type: mime,
        name: `${mime === 'image/png' || mime === 'image/jpeg' ? 'figure' : 'result'}-${artifacts.length + 1}.${EXTENSIONS[mime]}`,
        content,
        encoding: binary ? 'base64' : 'utf8',
        size: binary ? Buffer.byteLength(content, 'base64') : Buffer.byteLength(content),
      });
    }
  }
  for (const f of o.files) {
    if (f.b64.length > budget) {
      richTruncated = true;
      continue;
    }
    budget -= f.b64.length;
    artifacts.push({ type: f.mime, name: f.name, content: f.b64, encoding: 'base64', size: f.size });
  }

  return {
    status,
    execution_id: cmd.execution_id,
    template: cmd.template.name,
    language: cmd.language,
    exit_code: o.exitCode,
    stdout,
    stderr,
    execution_time: Math.round(o.durationMs) / 1000,
    results,
    artifacts,
    ...(error ? { error } : {}),
    timed_out: o.timedOut,
    oom_killed: o.oomKilled,
    truncated: o.stdout.truncated || o.stderr.truncated || richTruncated,
  };
}

function finishedEvent(
  cmd: RunnerExecuteCommand,
  r: ExecutionResult | null,
  o: KernelOutcome | null,
  sandboxError?: string,
) {
  return {
    type: EventTypes.ExecutionFinished,
    data:
      r && o
        ? {
            execution_id: cmd.execution_id,
            status: r.status,
            exit_code: r.exit_code,
            duration_ms: Math.round(r.execution_time * 1000),
            timed_out: r.timed_out,
            oom_killed: r.oom_killed,
            truncated: r.truncated,
            stdout_bytes: o.stdout.total,
            stderr_bytes: o.stderr.total,
            artifacts_count: r.artifacts.length,
          }
        : {
            execution_id: cmd.execution_id,
            status: 'error' as const,
            exit_code: -1,
            duration_ms: 0,
            timed_out: false,
            oom_killed: false,
            truncated: false,
            stdout_bytes: 0,
            stderr_bytes: 0,
            artifacts_count: 0,
            sandbox_error: sandboxError,
          },
  };
}
