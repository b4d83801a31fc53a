import { Controller, Inject, Post, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { JsonValue } from '@bufbuild/protobuf';
import { createConnectRouter, createContextValues } from '@connectrpc/connect';
import { universalRequestFromNodeRequest, universalResponseToNodeResponse } from '@connectrpc/connect-node';
import type { Request, Response } from 'express';
import type { NatsConnection } from 'nats';
import { NATS_CONNECTION } from '@executor/common';
import { sandboxOfRequest } from './e2b-caller';
import { toE2bError } from './e2b-errors';
import type { AuthedRequest } from '../auth/auth.guard';
import { filesystemService, RUN_CAP_S, SANDBOX } from './envd-services';
import { processService } from './envd-process';
import { watchService } from './envd-watch';
import { Filesystem } from './third_party/envd/gen/filesystem/filesystem_pb';
import { Process } from './third_party/envd/gen/process/process_pb';
import { SandboxSessions } from './sandbox-sessions';

type UniversalHandler = ReturnType<typeof createConnectRouter>['handlers'][number];

/** Connect's name of an HTTP status, for errors found before a call reaches its handler. */
const CONNECT_CODE_OF_STATUS: Record<number, string> = {
  400: 'invalid_argument',
  401: 'unauthenticated',
  403: 'permission_denied',
  404: 'not_found',
  429: 'resource_exhausted',
  503: 'unavailable',
};

/**
 * envd's Connect services (`filesystem.Filesystem/*`, `process.Process/*`) in Connect's JSON
 * protocol, the one E2B's SDK speaks, served by @connectrpc/connect from the .proto files'
 * descriptors. The api's guard has checked the sandbox's token first; methods not listed in
 * the services answer `unimplemented`.
 */
// E2B's wire format, documented by E2B: not a route of our OpenAPI document.
@ApiExcludeController()
@Controller('e2b')
export class E2bEnvdRpcController {
  private readonly handlers = new Map<string, UniversalHandler>();

  constructor(sessions: SandboxSessions, @Inject(NATS_CONNECTION) nc: NatsConnection) {
    const router = createConnectRouter({ readMaxBytes: 1024 * 1024 });
    router.service(Filesystem, { ...filesystemService(sessions), ...watchService(sessions, nc) });
    router.service(Process, processService(sessions, nc));
    for (const h of router.handlers) this.handlers.set(`/e2b${h.requestPath}`, h);
  }

  @Post(['filesystem.Filesystem/:method', 'process.Process/:method'])
  async call(@Req() req: Request, @Res() res: Response): Promise<void> {
    const handler = this.handlers.get(req.path);
    if (!handler) {
      res
        .status(404)
        .json({ code: 'unimplemented', message: `${req.path.slice(5, 100)} is not available here` });
      return;
    }
    let ref;
    try {
      ref = sandboxOfRequest(req);
    } catch (err) {
      const e = toE2bError(err);
      res.status(e.status).json({ code: CONNECT_CODE_OF_STATUS[e.status] ?? 'internal', message: e.message });
      return;
    }
    // A unary call's JSON body was parsed (and checked) by the api's body parser; streams are read here.
    const parsed: unknown = req.is('application/json') ? req.body : undefined;
    const uReq = universalRequestFromNodeRequest(
      req,
      res,
      parsed as JsonValue | undefined,
      createContextValues()
        .set(SANDBOX, ref)
        .set(RUN_CAP_S, (req as AuthedRequest).principal?.limits.max_timeout_s),
    );
    const uRes = await handler(uReq);
    await universalResponseToNodeResponse(uRes, res);
  }
}
