import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { timingSafeEqual } from 'node:crypto';
import { ErrorCodes } from '@executor/contracts';
import { ApiKeys, type Principal } from './api-keys';
import { apiError } from '../http/api-error';

export const API_KEYS = Symbol('API_KEYS');

/** Routes whose bodies or queries name a tenant: a tenant key may only act for its own. */
const TENANT_ROUTES = /^\/(execute|session\/|sessions)/;
const OPEN_ROUTES = /^\/(health|livez|readyz|openapi\.json|docs|console)(\/|$)/;
const METRICS_ROUTES = /^\/metrics(\/prometheus)?\/?$/;

/** `metricsScraper`: the request came with the scrape token (it may read metrics, nothing else). */
export type AuthedRequest = Request & { principal?: Principal; metricsScraper?: boolean };

/** Whether the caller may see series that name tenants: an admin, the scrape token, or anyone without keys. */
export function seesTenants(req: AuthedRequest): boolean {
  return req.metricsScraper === true || !req.principal || req.principal.role === 'admin';
}

function sameToken(given: string, token: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

const isLoopback = (address: string) => /^(127\.|::1$|::ffff:127\.)/.test(address);

/**
 * The user an E2B SDK names with `user:` (`Authorization: Basic <user:>` on envd calls), when it
 * is one the sandbox has: processes and files are the sandbox's one unprivileged user's, so
 * `user` and `root` both mean it (nothing here runs as root). Another name is refused.
 */
export function e2bUserOf(auth: string): 'user' | 'root' | undefined {
  const m = /^Basic\s+([A-Za-z0-9+/=]{1,512})$/i.exec(auth.trim());
  if (!m) return undefined;
  const name = Buffer.from(m[1], 'base64').toString('utf8').split(':')[0];
  if (name === 'user' || name === 'root') return name;
  throw apiError(
    ErrorCodes.Unauthenticated,
    `sandbox user ${JSON.stringify(name.slice(0, 32))} does not exist: the sandbox's one user is "user" ("root" runs as it too)`,
  );
}

function presentedKey(req: Request): string | undefined {
  const auth = req.header('authorization');
  if (auth && req.path.startsWith('/e2b/') && e2bUserOf(auth)) return req.header('x-api-key') ?? undefined;
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (!m) throw apiError(ErrorCodes.Unauthenticated, 'Authorization must be "Bearer <key>"');
    return m[1];
  }
  return req.header('x-api-key') ?? undefined;
}

/**
 * API keys (Bearer or X-API-Key). With keys configured every route but /health needs one; a
 * tenant key acts for its own tenant only (a different tenant_id is a 403; a missing one is
 * filled in) and admin routes need an admin key. With no keys the API serves loopback only
 * (it refuses to bind elsewhere), and admin routes answer loopback callers.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    @Inject(API_KEYS) private readonly keys: ApiKeys,
    private readonly scrapeToken = '',
  ) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    if (OPEN_ROUTES.test(req.path)) return true;
    const admin = req.path.startsWith('/admin');
    if (!this.keys.enabled) {
      if (admin && !isLoopback(req.socket.remoteAddress ?? '')) {
        throw apiError(ErrorCodes.Forbidden, 'admin routes answer on loopback only');
      }
      return true;
    }
    const key = presentedKey(req);
    if (!key && req.path.startsWith('/e2b/')) return this.sandboxCaller(req);
    if (!key)
      throw apiError(
        ErrorCodes.Unauthenticated,
        'an API key is required (Authorization: Bearer <key> or X-API-Key)',
      );
    if (this.scrapeToken && METRICS_ROUTES.test(req.path) && sameToken(key, this.scrapeToken)) {
      req.metricsScraper = true;
      return true;
    }
    const principal = this.keys.find(key);
    if (!principal) throw apiError(ErrorCodes.Unauthenticated, 'the API key is not valid');
    req.principal = principal;
    if (admin && principal.role !== 'admin')
      throw apiError(ErrorCodes.Forbidden, 'admin routes need an admin key');
    if (principal.role === 'tenant' && TENANT_ROUTES.test(req.path)) bindTenant(req, principal.tenant);
    return true;
  }

  /** An E2B sandbox request: its token must be the one issued for the sandbox it names. */
  private sandboxCaller(req: AuthedRequest): boolean {
    const token = sandboxTokenOf(req);
    const sandboxId = req.header('e2b-sandbox-id') ?? '';
    const principal = token ? this.keys.findBySandboxToken(token, sandboxId) : undefined;
    if (!principal) {
      throw apiError(ErrorCodes.Unauthenticated, 'an API key or the sandbox access token is required');
    }
    req.principal = principal;
    return true;
  }
}

/**
 * Requests to an E2B sandbox (envd, the code interpreter) carry the sandbox's access token
 * instead of an API key (`X-Access-Token`, or `E2B-Traffic-Access-Token` on some routes).
 */
function sandboxTokenOf(req: Request): string | undefined {
  return req.header('x-access-token') ?? req.header('e2b-traffic-access-token') ?? undefined;
}

/**
 * A JSON body acts for the key's tenant: a different tenant_id is refused, a missing one filled
 * in. A query is not touched here (Express 5 parses it anew on each read): routes that take a
 * tenant from the query pass it through tenantOf.
 */
function bindTenant(req: Request, tenant: string): void {
  if (!req.body || typeof req.body !== 'object' || Array.isArray(req.body)) return;
  const body = req.body as Record<string, unknown>;
  if (body.tenant_id !== undefined && body.tenant_id !== tenant) {
    throw apiError(ErrorCodes.Forbidden, 'this API key may only act for its own tenant');
  }
  body.tenant_id = tenant;
}

/** The tenant a request acts for: a tenant key's own, or what the caller named. */
export function tenantOf(req: AuthedRequest, given: string | undefined): string | undefined {
  const p = req.principal;
  if (!p || p.role !== 'tenant') return given;
  if (given !== undefined && given !== p.tenant) {
    throw apiError(ErrorCodes.Forbidden, 'this API key may only act for its own tenant');
  }
  return p.tenant;
}
