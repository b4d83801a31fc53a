import { CanActivate, ExecutionContext, Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { ErrorCodes } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import { ApiKeys, type Principal } from './api-keys';

export const API_KEYS = Symbol('API_KEYS');

/** Routes whose bodies or queries name a tenant: a tenant key may only act for its own. */
const TENANT_ROUTES = /^\/(execute|session\/|sessions)/;
const OPEN_ROUTES = /^\/(health|openapi\.json|docs)(\/|$)/;

export type AuthedRequest = Request & { principal?: Principal };

const isLoopback = (address: string) => /^(127\.|::1$|::ffff:127\.)/.test(address);

function presentedKey(req: Request): string | undefined {
  const auth = req.header('authorization');
  if (auth) {
    const m = /^Bearer\s+(\S+)$/i.exec(auth.trim());
    if (!m) throw new RemoteError(ErrorCodes.Unauthenticated, 'Authorization must be "Bearer <key>"');
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
  constructor(@Inject(API_KEYS) private readonly keys: ApiKeys) {}

  canActivate(context: ExecutionContext): boolean {
    const req = context.switchToHttp().getRequest<AuthedRequest>();
    if (OPEN_ROUTES.test(req.path)) return true;
    const admin = req.path.startsWith('/admin');
    if (!this.keys.enabled) {
      if (admin && !isLoopback(req.socket.remoteAddress ?? '')) {
        throw new RemoteError(ErrorCodes.Forbidden, 'admin routes answer on loopback only');
      }
      return true;
    }
    const key = presentedKey(req);
    if (!key && req.path.startsWith('/e2b/')) return this.sandboxCaller(req);
    if (!key)
      throw new RemoteError(
        ErrorCodes.Unauthenticated,
        'an API key is required (Authorization: Bearer <key> or X-API-Key)',
      );
    const principal = this.keys.find(key);
    if (!principal) throw new RemoteError(ErrorCodes.Unauthenticated, 'the API key is not valid');
    req.principal = principal;
    if (admin && principal.role !== 'admin')
      throw new RemoteError(ErrorCodes.Forbidden, 'admin routes need an admin key');
    if (principal.role === 'tenant' && TENANT_ROUTES.test(req.path)) bindTenant(req, principal.tenant);
    return true;
  }

  /** An E2B sandbox request: its token must be the one issued for the sandbox it names. */
  private sandboxCaller(req: AuthedRequest): boolean {
    const token = sandboxTokenOf(req);
    const sandboxId = req.header('e2b-sandbox-id') ?? '';
    const principal = token ? this.keys.findBySandboxToken(token, sandboxId) : undefined;
    if (!principal) {
      throw new RemoteError(ErrorCodes.Unauthenticated, 'an API key or the sandbox access token is required');
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

function bindTenant(req: Request, tenant: string): void {
  const holders: Array<Record<string, unknown>> = [];
  if (req.body && typeof req.body === 'object' && !Array.isArray(req.body))
    holders.push(req.body as Record<string, unknown>);
  if (req.method === 'GET' || req.method === 'DELETE') {
    // Express 5 parses req.query anew on each read: pin one object the handler will see.
    const query = { ...(req.query as Record<string, unknown>) };
    Object.defineProperty(req, 'query', { value: query, writable: true, configurable: true });
    holders.push(query);
  }
  for (const holder of holders) {
    const given = holder.tenant_id;
    if (given !== undefined && given !== tenant) {
      throw new RemoteError(ErrorCodes.Forbidden, 'this API key may only act for its own tenant');
    }
    holder.tenant_id = tenant;
  }
}

/** The tenant a request acts for: a tenant key's own, or what the caller named. */
export function tenantOf(req: AuthedRequest, given: string | undefined): string | undefined {
  const p = req.principal;
  if (!p || p.role !== 'tenant') return given;
  if (given !== undefined && given !== p.tenant) {
    throw new RemoteError(ErrorCodes.Forbidden, 'this API key may only act for its own tenant');
  }
  return p.tenant;
}
