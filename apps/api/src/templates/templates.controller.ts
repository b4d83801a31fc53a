import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ErrorCodes, RegisterTemplateDto, Subjects, TEMPLATE_NAME_PATTERN } from '@executor/contracts';
import { NatsRpc, RemoteError } from '@executor/common';
import { ApiConfig } from '../api.config';
import type { AuthedRequest } from '../auth/auth.guard';
import { correlationId } from '../http/body';
import { apiError } from '../http/api-error';

/**
 * With API keys on, a tenant key sees built-ins, shared templates and the ones its tenant
 * registered (it owns what it registers); another tenant's is a 404. Admin keys, and a stack
 * without keys, see and may remove all.
 */
@Controller('templates')
export class TemplatesController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  @Get()
  async list(@Req() req: AuthedRequest) {
    const templates = await this.rpc.send(
      Subjects.TemplatesList,
      viewer(req),
      this.config.rpcTimeouts.forwarded,
    );
    return { status: 'success', templates };
  }

  @Get(':name')
  async describe(@Param('name') name: string, @Req() req: AuthedRequest) {
    try {
      const template = await this.rpc.send(
        Subjects.TemplatesDescribe,
        { name: checkName(name), ...viewer(req) },
        this.config.rpcTimeouts.forwarded,
      );
      return { status: 'success', template };
    } catch (err) {
      throw notFoundIfUnknown(err);
    }
  }

  /** Registers a custom template; its image builds in the background (see image_status). */
  @Post()
  @HttpCode(201)
  async register(@Body() body: RegisterTemplateDto, @Req() req: AuthedRequest) {
    const template = await this.rpc.send(
      Subjects.TemplatesRegister,
      { ...body, ...viewer(req), correlation_id: correlationId(req) },
      this.config.rpcTimeouts.forwarded,
    );
    return { status: 'success', template };
  }

  @Delete(':name')
  async remove(@Param('name') name: string, @Req() req: AuthedRequest) {
    try {
      await this.rpc.send(
        Subjects.TemplatesDelete,
        { name: checkName(name), ...viewer(req), correlation_id: correlationId(req) },
        this.config.RPC_TIMEOUT_MS,
      );
    } catch (err) {
      throw notFoundIfUnknown(err);
    }
    return { status: 'success', name };
  }
}

/** The tenant a request sees templates as: a tenant key's own; none (all) for admins and without keys. */
function viewer(req: AuthedRequest): { tenant_id?: string } {
  return req.principal?.role === 'tenant' ? { tenant_id: req.principal.tenant } : {};
}

/** On routes that name a template in the path, an unknown name is a missing resource, not bad input. */
function notFoundIfUnknown(err: unknown): unknown {
  return err instanceof RemoteError && err.code === ErrorCodes.UnknownTemplate
    ? apiError(ErrorCodes.NotFound, err.message)
    : err;
}

/** A name no template can have names none: on these routes, a missing resource. */
function checkName(name: string): string {
  if (!TEMPLATE_NAME_PATTERN.test(name)) {
    throw apiError(ErrorCodes.NotFound, `unknown template ${JSON.stringify(name.slice(0, 64))}`);
  }
  return name;
}
