import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  Subjects,
  type ExecuteCommand,
  type ExecutionResult,
  type TemplateSpec,
} from '@executor/contracts';
import { NatsRpc, RemoteError } from '@executor/common';
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
    const timeout = cmd.timeout ?? template.timeout;
    // A full runner refuses at once; with several runners the queue group may pick another.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.runOnce(cmd, template, language, timeout);
      } catch (err) {
        const busy = err instanceof RemoteError && err.code === ErrorCodes.RunnerBusy;
        if (!busy || attempt >= 3 || this.runners.runners().length < 2) throw err;
      }
    }
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
      (timeout + this.config.EXECUTION_OVERHEAD_S) * 1000,
    );
    return this.runners.failFastIfRunnerLost(executionId, 'oneoff', undefined, call);
  }
}
