import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import {
  ErrorCodes,
  RegisterTemplateDto,
  Subjects,
  TEMPLATE_NAME_PATTERN,
  TemplateDeletedDto,
  TemplateListDto,
  TemplateReplyDto,
} from '@executor/contracts';
import { NatsRpc, RemoteError } from '@executor/common';
import { ApiConfig } from '../api.config';
import type { AuthedRequest } from '../auth/auth.guard';
import { correlationId } from '../http/body';
import { ApiErrors, BODY_ERRORS } from '../openapi/api-responses';
import { apiError } from '../http/api-error';

/** The `:name` of the routes that name one template. */
const ApiTemplateName = () =>
  ApiParam({
    name: 'name',
    description: 'A template name',
    schema: { type: 'string', pattern: TEMPLATE_NAME_PATTERN.source },
  });

/**
 * With API keys on, a tenant key sees built-ins, shared templates and the ones its tenant
 * registered (it owns what it registers); another tenant's is a 404. Admin keys, and a stack
 * without keys, see and may remove all.
 */
@ApiTags('templates')
@Controller('templates')
export class TemplatesController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'All templates with image status' })
  @ApiOkResponse({ type: TemplateListDto })
  @ApiErrors()
  async list(@Req() req: AuthedRequest) {
    const templates = await this.rpc.send(
      Subjects.TemplatesList,
      viewer(req),
      this.config.rpcTimeouts.forwarded,
    );
    return { status: 'success', templates };
  }

  @Get(':name')
  @ApiOperation({ summary: 'One template' })
  @ApiTemplateName()
  @ApiOkResponse({ type: TemplateReplyDto })
  @ApiErrors(ErrorCodes.NotFound)
  async describe(@Param('name') name: string, @Req() req: AuthedRequest) {
    const template = await aboutTemplate(name, (checked) =>
      this.rpc.send(
        Subjects.TemplatesDescribe,
        { name: checked, ...viewer(req) },
        this.config.rpcTimeouts.forwarded,
      ),
    );
    return { status: 'success', template };
  }

  /** Registers a custom template; its image builds in the background (see image_status). */
  @Post()
  @HttpCode(201)
  @ApiOperation({ summary: 'Register a custom template; its image builds in the background' })
  @ApiCreatedResponse({ type: TemplateReplyDto, description: 'Registered; see template.image_status' })
  @ApiErrors(
    ...BODY_ERRORS,
    ErrorCodes.BuiltinTemplate,
    ErrorCodes.UnknownTemplate,
    ErrorCodes.TemplateExists,
    ErrorCodes.NetworkNotAllowed,
    ErrorCodes.QuotaExceeded,
    ErrorCodes.EventStoreUnavailable,
  )
  async register(@Body() body: RegisterTemplateDto, @Req() req: AuthedRequest) {
    const template = await this.rpc.send(
      Subjects.TemplatesRegister,
      { ...body, ...viewer(req), correlation_id: correlationId(req) },
      this.config.rpcTimeouts.forwarded,
    );
    return { status: 'success', template };
  }

  @Delete(':name')
  @ApiOperation({ summary: 'Remove a custom template' })
  @ApiTemplateName()
  @ApiOkResponse({ type: TemplateDeletedDto })
  @ApiErrors(
    ErrorCodes.BuiltinTemplate,
    ErrorCodes.UnknownTemplate,
    ErrorCodes.NotFound,
    ErrorCodes.Forbidden,
    ErrorCodes.EventStoreUnavailable,
  )
  async remove(@Param('name') name: string, @Req() req: AuthedRequest) {
    await aboutTemplate(name, (checked) =>
      this.rpc.send(
        Subjects.TemplatesDelete,
        { name: checked, ...viewer(req), correlation_id: correlationId(req) },
        this.config.RPC_TIMEOUT_MS,
      ),
    );
    return { status: 'success', name };
  }
}

/** The tenant a request sees templates as: a tenant key's own; none (all) for admins and without keys. */
function viewer(req: AuthedRequest): { tenant_id?: string } {
  return req.principal?.role === 'tenant' ? { tenant_id: req.principal.tenant } : {};
}

/**
 * A call about the template a route's path names. There, a name no template can have and an
 * unknown one are both a missing resource (404), not bad input.
 */
async function aboutTemplate<T>(name: string, call: (checked: string) => Promise<T>): Promise<T> {
  try {
    if (!TEMPLATE_NAME_PATTERN.test(name)) {
      throw apiError(ErrorCodes.NotFound, `unknown template ${JSON.stringify(name.slice(0, 64))}`);
    }
    return await call(name);
  } catch (err) {
    throw err instanceof RemoteError && err.code === ErrorCodes.UnknownTemplate
      ? apiError(ErrorCodes.NotFound, err.message)
      : err;
  }
}
