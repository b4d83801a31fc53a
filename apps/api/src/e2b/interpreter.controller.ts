import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  Inject,
  Param,
  Post,
  Req,
  Res,
  UseFilters,
  UseInterceptors,
} from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  MAX_TIMEOUT_SECONDS,
  normalizeLanguage,
  streamCancelSubject,
  streamSubject,
  type ContextInfo,
  type StreamFrame,
} from '@executor/contracts';
import { NATS_CONNECTION, RemoteError } from '@executor/common';
import type { AuthedRequest } from '../auth/auth.guard';
import { ExecutionQuota } from '../auth/execution-quota';
import { drainFrames } from '../http/streaming';
import { sandboxOfRequest, sandboxRef, type SandboxRef } from './e2b-caller';
import { E2bErrorFilter } from './e2b-errors';
import { closingLines, liveLine, type E2bExecuteLine } from './e2b-results';
import { fromWorkspacePath, toWorkspaceDir } from './e2b-paths';
import { E2bContextDto, E2bExecuteDto } from './e2b.dto';
import { SandboxSessions } from './sandbox-sessions';

const KEEPALIVE_MS = 10000;
const ENDED_WAIT_MS = 5000;
/** Largest stream frame taken from the bus (the runner's are far smaller). */
const MAX_FRAME_BYTES = 4 * 1024 * 1024;

/** A context as E2B's SDK reads it: its folder seen from the sandbox (/home/user is /workspace). */
function e2bContext(c: ContextInfo) {
  const rel = c.cwd.replace(/^\/workspace\/?/, '');
  return { id: c.id, language: c.language, cwd: fromWorkspacePath(rel) };
}

/** A frame of our stream, checked before use: the bus is ours, but the text in it is the sandbox's. */
function parseFrame(data: Uint8Array): StreamFrame | null {
  if (data.length > MAX_FRAME_BYTES) return null;
  try {
    const frame = JSON.parse(new TextDecoder().decode(data)) as StreamFrame;
    if ((frame.type === 'stdout' || frame.type === 'stderr') && typeof frame.text === 'string') return frame;
  } catch {
    // not a frame
  }
  return null;
}

/**
 * The code interpreter of an E2B sandbox (port 49999): `/execute` runs code in the session,
 * streaming E2B's NDJSON; `/contexts` are the session's contexts.
 */
// E2B's wire format, documented by E2B: not a route of our OpenAPI document.
@ApiExcludeController()
@Controller('e2b')
@UseFilters(E2bErrorFilter)
export class E2bInterpreterController {
  constructor(
    private readonly sessions: SandboxSessions,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
  ) {}

  /**
   * Output lines as they happen, then the results, the error and the execution count. The SDK
   * ends a run by closing the request (its `timeoutMs`): that interrupts the run and the session
   * keeps its state. A sandbox killed during the run drops the connection, as E2B's does.
   */
  @Post('execute')
  @UseInterceptors(ExecutionQuota)
  async execute(@Body() body: E2bExecuteDto, @Req() req: Request, @Res() res: Response): Promise<void> {
    const ref = sandboxOfRequest(req);
    if (body.context_id && body.language) {
      throw new RemoteError(ErrorCodes.ValidationError, 'give a context or a language, not both');
    }
    const streamId = randomUUID();
    const sub = this.nc.subscribe(streamSubject(streamId));
    await this.nc.flush();
    let finished = false;
    let streamed = false;
    const write = (line: E2bExecuteLine | { type: 'keepalive' }) => {
      if (!res.headersSent) {
        res.status(200);
        res.setHeader('Content-Type', 'application/x-ndjson; charset=utf-8');
        res.setHeader('Cache-Control', 'no-cache, no-transform');
        res.flushHeaders();
      }
      if (!res.writableEnded) res.write(`${JSON.stringify(line)}\n`);
    };
    res.on('close', () => {
      if (!finished) this.nc.publish(streamCancelSubject(streamId), '');
    });
    const keepalive = setInterval(() => write({ type: 'keepalive' }), KEEPALIVE_MS);
    const pump = (async () => {
      for await (const m of sub) {
        const frame = parseFrame(m.data);
        const line = frame && liveLine(frame);
        if (line) {
          streamed = true;
          write(line);
        }
      }
    })();
    try {
      const reply = await this.sessions.execute(
        ref,
        {
          code: body.code,
          language: body.language ? normalizeLanguage(body.language) : undefined,
          context_id: body.context_id ?? undefined,
          env: body.env_vars ?? {},
          // E2B's runs end when the client says (its timeoutMs), not at the template's timeout:
          // as long as the caller's key allows.
          timeout: MAX_TIMEOUT_SECONDS,
          max_timeout: (req as AuthedRequest).principal?.limits.max_timeout_s,
        },
        streamId,
      );
      await drainFrames(sub, pump);
      for (const line of closingLines(reply, streamed)) write(line);
      res.end();
    } catch (err) {
      // A sandbox that ended (killed, or its lifetime out) drops the run's connection, as E2B's
      // does: its client then asks whether the sandbox still runs and says it was killed.
      if (!res.headersSent && !sandboxEnded(err)) throw err;
      if (sandboxEnded(err)) await this.untilEnded(ref);
      res.destroy();
    } finally {
      finished = true;
      clearInterval(keepalive);
      if (!sub.isClosed()) sub.unsubscribe();
    }
  }

  /** A kill ends the run before it is recorded: wait (briefly) until the sandbox reads as ended. */
  private async untilEnded(ref: SandboxRef): Promise<void> {
    const deadline = Date.now() + ENDED_WAIT_MS;
    while (Date.now() < deadline) {
      const state = await this.sessions.get(ref).then(
        (s) => s.state,
        () => 'gone',
      );
      if (state !== 'active') return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  @Post('contexts')
  async createContext(@Body() body: E2bContextDto, @Req() req: Request) {
    const reply = await this.sessions.contexts(sandboxOfRequest(req), 'create', {
      ...(body.language ? { language: normalizeLanguage(body.language) } : {}),
      ...(body.cwd ? { cwd: toWorkspaceDir(body.cwd) } : {}),
    });
    if (!reply.context) throw new RemoteError(ErrorCodes.InternalError, 'no context was created');
    return e2bContext(reply.context);
  }

  @Get('contexts')
  async listContexts(@Req() req: Request) {
    return (await this.sessions.contexts(sandboxOfRequest(req), 'list')).contexts.map(e2bContext);
  }

  @Delete('contexts/:id')
  @HttpCode(204)
  async removeContext(@Param('id') id: string, @Req() req: Request): Promise<void> {
    await this.sessions.contexts(sandboxOfRequest(req), 'remove', { context_id: contextId(req, id) });
  }

  @Post('contexts/:id/restart')
  @HttpCode(204)
  async restartContext(@Param('id') id: string, @Req() req: Request): Promise<void> {
    await this.sessions.contexts(sandboxOfRequest(req), 'restart', { context_id: contextId(req, id) });
  }
}

function sandboxEnded(err: unknown): boolean {
  return (
    err instanceof RemoteError &&
    (err.code === ErrorCodes.SessionDestroyed || err.code === ErrorCodes.SessionExpired)
  );
}

/** A context id is a UUID; anything else names no context. */
function contextId(req: Request, id: string): string {
  // The same shape as a sandbox id: reuse its check, with a context's message.
  try {
    return sandboxRef(req, id).session_id;
  } catch {
    throw new RemoteError(ErrorCodes.NotFound, `no context ${id.slice(0, 64)} in this sandbox`);
  }
}
