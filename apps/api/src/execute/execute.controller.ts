import { UseInterceptors } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { ExecutionQuota, timeoutCapS } from '../auth/execution-quota';
import type { AuthedRequest } from '../auth/auth.guard';
import { Body, Controller, HttpCode, Inject, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { NatsConnection } from 'nats';
import { answerRun } from '../http/streaming';
import {
  ErrorCodes,
  ExecuteRequestDto,
  ExecutionResultDto,
  MAX_FILE_BYTES,
  MAX_TOTAL_FILE_BYTES,
  Subjects,
  type ExecutionResult,
  type FileInputDto,
  type FilePayload,
  normalizeLanguage,
} from '@executor/contracts';
import { NATS_CONNECTION, NatsRpc, runReplyTimeoutMs } from '@executor/common';
import { ApiConfig } from '../api.config';
import { correlationId } from '../http/body';
import { ApiErrors, ApiRunResponse, BODY_ERRORS, RUN_ERRORS } from '../openapi/api-responses';
import { apiError } from '../http/api-error';

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

@ApiTags('execute')
@Controller()
export class ExecuteController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  @Post('execute')
  @HttpCode(200)
  @UseInterceptors(ExecutionQuota)
  @ApiOperation({ summary: 'Run code once in a fresh sandbox' })
  @ApiRunResponse(ExecutionResultDto)
  @ApiErrors(
    ...BODY_ERRORS,
    ErrorCodes.Forbidden,
    ErrorCodes.UnknownTemplate,
    ErrorCodes.UnsupportedLanguage,
    ErrorCodes.UnsupportedRuntime,
    ErrorCodes.ImageNotReady,
    ErrorCodes.RunnerBusy,
    ...RUN_ERRORS,
  )
  async execute(@Body() body: ExecuteRequestDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    return answerRun(req, res, this.nc, body, (streamId) => this.run(body, req, streamId));
  }

  private run(body: ExecuteRequestDto, req: AuthedRequest, streamId?: string): Promise<ExecutionResult> {
    // Without a timeout the template's default applies, held to the cap: the run takes at most that.
    const cap = timeoutCapS(req, this.config);
    return this.rpc.send(
      Subjects.ExecutionRun,
      {
        tenant_id: body.tenant_id,
        scope: body.scope ?? 'default',
        code: body.code,
        language: normalizeLanguage(body.language),
        template: body.template,
        files: toFilePayloads(body.files ?? []),
        timeout: body.timeout,
        max_timeout: cap,
        env: body.env ?? {},
        runtime: body.runtime,
        stdin: body.stdin,
        stream_id: streamId,
        correlation_id: correlationId(req),
      },
      runReplyTimeoutMs(body.timeout ?? cap, this.config.EXECUTION_OVERHEAD_S),
    );
  }
}

/** Files travel base64; sizes are checked on the decoded bytes. */
export function toFilePayloads(files: FileInputDto[]): FilePayload[] {
  let total = 0;
  return files.map((f) => {
    let b64: string;
    if (f.encoding === 'base64') {
      if (!BASE64.test(f.content) || f.content.length % 4 !== 0) {
        throw apiError(ErrorCodes.ValidationError, `files: content of ${f.path} is not valid base64`);
      }
      b64 = f.content;
    } else {
      b64 = Buffer.from(f.content, 'utf8').toString('base64');
    }
    const size = Buffer.byteLength(b64, 'base64');
    if (size > MAX_FILE_BYTES) throw apiError(ErrorCodes.PayloadTooLarge, `file ${f.path} is over 10 MB`);
    total += size;
    if (total > MAX_TOTAL_FILE_BYTES)
      throw apiError(ErrorCodes.PayloadTooLarge, 'files are over 100 MB in total');
    return { path: f.path, content_b64: b64 };
  });
}
