import type { Request } from 'express';
import { ErrorCodes } from '@executor/contracts';
import { RemoteError } from '@executor/common';
import type { AuthedRequest } from '../auth/auth.guard';
import { correlationId } from '../http/body';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i;
/** Without API keys (one trust domain on loopback) every E2B sandbox belongs to this tenant. */
export const E2B_TENANT = 'e2b';
/** The scope of the sessions E2B clients create. */
export const E2B_SCOPE = 'e2b';

/** Who asks, about which sandbox: one of our sessions, seen by its tenant. */
export interface SandboxRef {
  session_id: string;
  tenant_id: string;
  correlation_id: string;
}

/** The tenant of a request: its key's (or its sandbox token's), or E2B's own without keys. */
export function tenantOfE2b(req: Request): string {
  return (req as AuthedRequest).principal?.tenant ?? E2B_TENANT;
}

/** A sandbox id is one of our session ids; anything else is not found (never an error about its shape). */
export function sandboxRef(req: Request, sandboxId: string | undefined): SandboxRef {
  if (!sandboxId || !UUID.test(sandboxId)) {
    throw new RemoteError(
      ErrorCodes.SessionNotFound,
      `sandbox ${String(sandboxId ?? '').slice(0, 64)} not found`,
    );
  }
  return {
    session_id: sandboxId.toLowerCase(),
    tenant_id: tenantOfE2b(req),
    correlation_id: correlationId(req),
  };
}

/** The sandbox a request to envd or the code interpreter is for (E2B's routing header). */
export function sandboxOfRequest(req: Request): SandboxRef {
  return sandboxRef(req, req.header('e2b-sandbox-id'));
}
