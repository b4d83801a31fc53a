import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Param,
  Post,
  Query,
  Req,
  Res,
  UseFilters,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorCodes, type SessionView } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import { hashKey, sandboxToken } from '../auth/api-keys';
import { correlationId } from '../http/body';
import { sandboxRef, tenantOfE2b } from './e2b-caller';
import { E2bErrorFilter } from './e2b-errors';
import { E2bConnectDto, E2bCreateSandboxDto, E2bListQueryDto, E2bTimeoutDto } from './e2b.dto';
import { E2B_DEFAULT_TIMEOUT_S, SandboxSessions } from './sandbox-sessions';

/** The envd version we answer as: at or above it the SDKs use every feature they have. */
export const ENVD_VERSION = '0.6.4';
const CLIENT_ID = 'executor';

/** The key a control-plane request came with (E2B sends X-API-KEY; Bearer works too). */
function presentedKey(req: Request): string {
  const bearer = /^Bearer\s+(\S+)$/i.exec(req.header('authorization') ?? '');
  return bearer?.[1] ?? req.header('x-api-key') ?? '';
}

/** Parses E2B's metadata filter: `k=v&k2=v2`, each part URL-encoded. */
export function metadataFilter(raw: string | undefined): Record<string, string> {
  const filter: Record<string, string> = {};
  if (!raw) return filter;
  for (const [k, v] of new URLSearchParams(raw)) {
    let key = k;
    let value = v;
    try {
      key = decodeURIComponent(k);
      value = decodeURIComponent(v);
    } catch {
      throw new RemoteError(ErrorCodes.ValidationError, 'metadata must be URL-encoded key=value pairs');
    }
    Object.defineProperty(filter, key, { value, enumerable: true, writable: true, configurable: true });
  }
  return filter;
}

/**
 * E2B's control plane (`X-API-KEY`): create, list, get, connect, set the timeout of and kill
 * sandboxes, each one of our sessions of the key's tenant.
 */
// E2B's wire format, documented by E2B: not a route of our OpenAPI document.
@ApiExcludeController()
@Controller('e2b')
@UseFilters(E2bErrorFilter)
export class E2bControlPlaneController {
  constructor(private readonly sessions: SandboxSessions) {}

  @Post('v2/sandboxes')
  @HttpCode(201)
  async create(@Body() body: E2bCreateSandboxDto, @Req() req: Request) {
    const created = await this.sessions.create(
      tenantOfE2b(req),
      {
        template: body.templateID,
        timeout: body.timeout ?? E2B_DEFAULT_TIMEOUT_S,
        metadata: body.metadata ?? {},
        env: body.envVars ?? {},
      },
      correlationId(req),
    );
    return this.access(req, created.session_id, body.templateID);
  }

  @Post('v2/sandboxes/:id/connect')
  @HttpCode(201)
  async connect(@Param('id') id: string, @Body() body: E2bConnectDto, @Req() req: Request) {
    const ref = sandboxRef(req, id);
    const session = body.timeout ? await this.sessions.setTimeout(ref, body.timeout) : await this.live(ref);
    return this.access(req, session.session_id, session.template);
  }

  @Post('sandboxes/:id/timeout')
  @HttpCode(204)
  async setTimeout(@Param('id') id: string, @Body() body: E2bTimeoutDto, @Req() req: Request): Promise<void> {
    await this.sessions.setTimeout(sandboxRef(req, id), body.timeout);
  }

  @Get('sandboxes/:id')
  async info(@Param('id') id: string, @Req() req: Request) {
    const session = await this.live(sandboxRef(req, id));
    return {
      ...listed(session),
      envdAccessToken: sandboxToken(hashKey(presentedKey(req)), session.session_id),
      domain: null,
    };
  }

  @Delete('sandboxes/:id')
  @HttpCode(204)
  async kill(@Param('id') id: string, @Req() req: Request): Promise<void> {
    await this.sessions.destroy(sandboxRef(req, id));
  }

  /** Running sandboxes only (none is ever paused), newest first, paged by `x-next-token`. */
  @Get('v2/sandboxes')
  async list(
    @Query() query: E2bListQueryDto,
    @Req() req: Request,
    @Res({ passthrough: true }) res: Response,
  ) {
    const states = query.state?.split(',') ?? ['running', 'paused'];
    if (!states.includes('running')) return [];
    const wanted = metadataFilter(query.metadata);
    const after = query.startedAfter ? Date.parse(query.startedAfter) : NaN;
    let sandboxes = (await this.sessions.list(tenantOfE2b(req))).filter(
      (s) =>
        s.state === 'active' &&
        Date.parse(s.expires_at) > Date.now() &&
        Object.entries(wanted).every(([k, v]) => s.metadata[k] === v) &&
        (!query.template || s.template === query.template) &&
        (Number.isNaN(after) || Date.parse(s.created_at) > after),
    );
    if (query.order === 'asc') sandboxes = sandboxes.reverse();
    const offset = Number(query.nextToken ?? '0');
    const limit = query.limit ?? 100;
    const page = sandboxes.slice(offset, offset + limit);
    if (offset + limit < sandboxes.length) res.setHeader('x-next-token', String(offset + limit));
    return page.map(listed);
  }

  private async live(ref: ReturnType<typeof sandboxRef>): Promise<SessionView> {
    const session = await this.sessions.get(ref);
    if (session.state !== 'active' || Date.parse(session.expires_at) <= Date.now()) {
      throw new RemoteError(ErrorCodes.SessionNotFound, `sandbox ${ref.session_id} not found`);
    }
    return session;
  }

  /** What create and connect answer: the ids and the tokens of envd and the interpreter. */
  private access(req: Request, sandboxId: string, templateId: string) {
    const token = sandboxToken(hashKey(presentedKey(req)), sandboxId);
    return {
      sandboxID: sandboxId,
      templateID: templateId,
      clientID: CLIENT_ID,
      envdVersion: ENVD_VERSION,
      envdAccessToken: token,
      // Sent by the code interpreter's context calls, which carry no other credential.
      trafficAccessToken: token,
      domain: null,
    };
  }
}

/** A session as E2B lists a sandbox. */
function listed(s: SessionView) {
  return {
    sandboxID: s.session_id,
    templateID: s.template,
    clientID: CLIENT_ID,
    startedAt: s.created_at,
    endAt: s.deadline_at ?? s.expires_at,
    state: 'running',
    metadata: s.metadata,
    envdVersion: ENVD_VERSION,
  };
}
