import { UseInterceptors } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import { ExecutionQuota, timeoutCapS } from '../auth/execution-quota';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { NatsConnection } from 'nats';
import { answerRun } from '../http/streaming';
import {
  ErrorCodes,
  OptionalTenantQueryDto,
  SessionCreateDto,
  SessionExecuteDto,
  SessionListQueryDto,
  SessionRefDto,
  Subjects,
  normalizeLanguage,
  ContextCreateDto,
  ContextRefDto,
  ContextCreatedDto,
  ContextListDto,
  ContextReplyDto,
  SessionCreatedDto,
  SessionDestroyedDto,
  SessionExecuteResultDto,
  SessionListDto,
  SessionReplyDto,
  type SessionContextsCommand,
} from '@executor/contracts';
import { NATS_CONNECTION, NatsRpc, runReplyTimeoutMs } from '@executor/common';
import { ApiConfig } from '../api.config';
import { toFilePayloads } from '../execute/execute.controller';
import { correlationId } from '../http/body';
import { tenantOf, type AuthedRequest } from '../auth/auth.guard';
import {
  ApiErrors,
  ApiRunResponse,
  BODY_ERRORS,
  PostRoute,
  SESSION_ERRORS,
  RUN_ERRORS,
} from '../openapi/api-responses';
import { apiError } from '../http/api-error';

/** What a call on one context may answer: its session's errors, or no such context. */
const CONTEXT_ERRORS = [...SESSION_ERRORS, ErrorCodes.NotFound];

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@ApiTags('sessions')
@Controller()
export class SessionsController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  @PostRoute(
    'session/create',
    'Create a session, or reuse the live one of the same tenant, scope and template',
    SessionCreatedDto,
    ErrorCodes.Forbidden,
    ErrorCodes.UnknownTemplate,
    ErrorCodes.SessionLimit,
    ErrorCodes.ImageNotReady,
    ErrorCodes.RunnerBusy,
    ErrorCodes.EventStoreUnavailable,
    ErrorCodes.SandboxError,
  )
  create(@Body() body: SessionCreateDto, @Req() req: Request) {
    return this.rpc.send(
      Subjects.SessionCreate,
      {
        tenant_id: body.tenant_id,
        scope: body.scope,
        template: body.template,
        ttl: body.ttl,
        lifetime: body.lifetime,
        metadata: body.metadata ?? {},
        reuse: body.reuse ?? true,
        env: body.env ?? {},
        correlation_id: correlationId(req),
      },
      // Creating may wait for a sandbox to start.
      this.config.rpcTimeouts.sessionOpen,
    );
  }

  @Post('session/execute')
  @HttpCode(200)
  @UseInterceptors(ExecutionQuota)
  @ApiOperation({ summary: 'Run code in a session: variables and files persist' })
  @ApiRunResponse(SessionExecuteResultDto)
  @ApiErrors(
    ...BODY_ERRORS,
    ...SESSION_ERRORS,
    ErrorCodes.NotFound,
    ErrorCodes.UnsupportedLanguage,
    ...RUN_ERRORS,
  )
  async execute(@Body() body: SessionExecuteDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    return answerRun(req, res, this.nc, body, (streamId) => this.runInSession(body, req, streamId));
  }

  private runInSession(body: SessionExecuteDto, req: AuthedRequest, streamId?: string) {
    // Without a timeout the template's default applies, held to the cap: the run takes at most that.
    const cap = timeoutCapS(req, this.config);
    return this.rpc.send(
      Subjects.SessionExecute,
      {
        session_id: body.session_id,
        tenant_id: body.tenant_id,
        context_id: body.context_id,
        code: body.code,
        language: normalizeLanguage(body.language),
        files: toFilePayloads(body.files ?? []),
        timeout: body.timeout,
        max_timeout: cap,
        env: body.env ?? {},
        stdin: body.stdin,
        stream_id: streamId,
        correlation_id: correlationId(req),
      },
      runReplyTimeoutMs(body.timeout ?? cap, this.config.EXECUTION_OVERHEAD_S),
    );
  }

  @PostRoute(
    'session/destroy',
    'Destroy a session and its sandbox',
    SessionDestroyedDto,
    ...SESSION_ERRORS,
    ErrorCodes.EventStoreUnavailable,
  )
  destroy(@Body() body: SessionRefDto, @Req() req: Request) {
    return this.rpc.send(
      Subjects.SessionDestroy,
      { session_id: body.session_id, tenant_id: body.tenant_id, correlation_id: correlationId(req) },
      this.config.rpcTimeouts.forwarded,
    );
  }

  @PostRoute(
    'session/contexts/create',
    "Start another kernel (a context) in a session's sandbox: its own variables, the same /workspace",
    ContextCreatedDto,
    ...SESSION_ERRORS,
    ErrorCodes.UnsupportedLanguage,
    ErrorCodes.QuotaExceeded,
  )
  async createContext(@Body() body: ContextCreateDto, @Req() req: Request) {
    const reply = await this.contexts(req, body, {
      action: 'create',
      language: normalizeLanguage(body.language),
      cwd: body.cwd,
    });
    return { status: 'success', context: reply.context, contexts: reply.contexts };
  }

  @Get('session/contexts/list')
  @ApiOperation({ summary: "A session's contexts" })
  @ApiOkResponse({ type: ContextListDto })
  @ApiErrors(...SESSION_ERRORS)
  async listContexts(@Query() query: SessionRefDto, @Req() req: Request) {
    return { status: 'success', contexts: (await this.contexts(req, query, { action: 'list' })).contexts };
  }

  @PostRoute(
    'session/contexts/restart',
    'Restart a context: same id, its variables gone',
    ContextReplyDto,
    ...CONTEXT_ERRORS,
  )
  restartContext(@Body() body: ContextRefDto, @Req() req: Request) {
    return this.changeContext(req, body, 'restart');
  }

  @PostRoute(
    'session/contexts/delete',
    "Remove a context (not the session's first one)",
    ContextReplyDto,
    ...CONTEXT_ERRORS,
  )
  deleteContext(@Body() body: ContextRefDto, @Req() req: Request) {
    return this.changeContext(req, body, 'remove');
  }

  /** Restarts or removes one context; the reply names it. */
  private async changeContext(req: Request, body: ContextRefDto, action: 'restart' | 'remove') {
    const reply = await this.contexts(req, body, { action, context_id: body.context_id });
    return { status: 'success', context: reply.context };
  }

  private contexts(
    req: Request,
    ref: { session_id: string; tenant_id?: string },
    what: Pick<SessionContextsCommand, 'action' | 'language' | 'cwd' | 'context_id'>,
  ) {
    return this.rpc.send(
      Subjects.SessionContexts,
      {
        session_id: ref.session_id,
        tenant_id: tenantOf(req, ref.tenant_id),
        ...what,
        correlation_id: correlationId(req),
      },
      // Starting a context waits for its kernel to load.
      this.config.rpcTimeouts.sessionOpen,
    );
  }

  @Get('session/:id')
  @ApiOperation({ summary: 'One session: state, template, created, last used, expires, executions' })
  @ApiParam({ name: 'id', description: 'A session id', format: 'uuid' })
  @ApiOkResponse({ type: SessionReplyDto })
  @ApiErrors(...SESSION_ERRORS)
  async get(@Param('id') id: string, @Query() query: OptionalTenantQueryDto, @Req() req: Request) {
    if (!UUID.test(id)) throw apiError(ErrorCodes.SessionNotFound, `no session ${id.slice(0, 64)}`);
    const session = await this.rpc.send(
      Subjects.SessionGet,
      { session_id: id, tenant_id: tenantOf(req, query.tenant_id), correlation_id: correlationId(req) },
      this.config.RPC_TIMEOUT_MS,
    );
    return { status: 'success', session };
  }

  @Get('sessions')
  @ApiOperation({ summary: "A tenant's sessions" })
  @ApiOkResponse({ type: SessionListDto })
  @ApiErrors(ErrorCodes.Forbidden)
  async list(@Query() query: SessionListQueryDto, @Req() req: Request) {
    const tenant = tenantOf(req, query.tenant_id);
    if (tenant === undefined) throw apiError(ErrorCodes.ValidationError, 'tenant_id: it is required');
    const sessions = await this.rpc.send(
      Subjects.SessionList,
      { tenant_id: tenant },
      this.config.RPC_TIMEOUT_MS,
    );
    return { status: 'success', sessions };
  }
}
