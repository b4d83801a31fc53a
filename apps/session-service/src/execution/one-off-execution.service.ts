import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  Subjects,
  type ExecuteCommand,
  type ExecutionResult,
  type TemplateSpec,
} from '@executor/contracts';
import { NatsRpc, RemoteError, runReplyTimeoutMs, runTimeoutS, withRetry } from '@executor/common';
import { RunnerWatch } from '../runners/runner-watch';
import { SessionServiceConfig } from '../session-service.config';
import { resolveLanguage, TemplateLookup } from './template-lookup';

export const DEFAULT_TEMPLATE = 'default';

/** A one-off `/execute`: resolve the template, decide language and timeout, hand it to a runner. */
@Injectable()
export class OneOffExecutionService {
  constructor(
    private readonly rpc: NatsRpc,
    private readonly templates: TemplateLookup,
    @Inject(SessionServiceConfig) private readonly config: SessionServiceConfig,
    private readonly runners: RunnerWatch,
  ) {}

  async run(cmd: ExecuteCommand): Promise<ExecutionResult> {
    const found = await this.templates.get(cmd.template ?? DEFAULT_TEMPLATE, cmd.tenant_id);
    // A request may tighten the runtime to gVisor; it never loosens a template's.
    const template = cmd.runtime ? { ...found, runtime: cmd.runtime } : found;
    const language = resolveLanguage(template, cmd.language);
    const timeout = runTimeoutS(cmd.timeout, template.timeout, cmd.max_timeout);
    // A full runner refuses at once; with several runners the queue group may pick another.
    return withRetry(() => this.runOnce(cmd, template, language, timeout), {
      retryOn: (err) =>
        err instanceof RemoteError && err.code === ErrorCodes.RunnerBusy && this.runners.runners().length > 1,
      attempts: 3,
      firstMs: 0,
      maxMs: 0,
    });
  }

  private runOnce(
    cmd: ExecuteCommand,
    template: TemplateSpec,
    language: string,
    timeout: number,
  ): Promise<ExecutionResult> {
    const executionId = randomUUID();
    const call = this.rpc.send(
      Subjects.RunnerExecute,
      {
        execution_id: executionId,
        tenant_id: cmd.tenant_id,
        scope: cmd.scope,
        code: cmd.code,
        language,
        template,
        files: cmd.files,
        timeout,
        env: cmd.env,
        stdin: cmd.stdin,
        stream_id: cmd.stream_id,
        correlation_id: cmd.correlation_id,
      },
      runReplyTimeoutMs(timeout, this.config.EXECUTION_OVERHEAD_S),
    );
    return this.runners.failFastIfRunnerLost(executionId, 'oneoff', undefined, call);
  }
}
