import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Subjects, type ExecuteCommand, type ExecutionResult } from '@executor/contracts';
import { NatsRpc } from '@executor/common';
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
  ) {}

  async run(cmd: ExecuteCommand): Promise<ExecutionResult> {
    const found = await this.templates.get(cmd.template ?? DEFAULT_TEMPLATE);
    // A request may tighten the runtime to gVisor; it never loosens a template's.
    const template = cmd.runtime ? { ...found, runtime: cmd.runtime } : found;
    const language = resolveLanguage(template, cmd.language);
    const timeout = cmd.timeout ?? template.timeout;
    return this.rpc.send(
      Subjects.RunnerExecute,
      {
        execution_id: randomUUID(),
        tenant_id: cmd.tenant_id,
        scope: cmd.scope,
        code: cmd.code,
        language,
        template,
        files: cmd.files,
        timeout,
        env: cmd.env,
        stream_id: cmd.stream_id,
        correlation_id: cmd.correlation_id,
      },
      (timeout + this.config.EXECUTION_OVERHEAD_S) * 1000,
    );
  }
}
