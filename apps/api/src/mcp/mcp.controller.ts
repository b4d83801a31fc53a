import { All, Controller, Logger, OnModuleDestroy, Req, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { ApiConfig } from '../api.config';
import { ExecutorMcp, MCP_DEFAULT_TENANT } from './executor-mcp';

/** MCP sessions one api serves at once; an initialize past it is refused. */
export const MAX_MCP_SESSIONS = 256;

interface McpSession {
  transport: StreamableHTTPServerTransport;
  mcp: ExecutorMcp;
  keyHash: Buffer;
  /** When its last request ended (or began, while none has ended). */
  lastSeen: number;
  /** Requests of it in flight: a client that holds its event stream open is never idle. */
  open: number;
}

const hashOf = (key: string | undefined) =>
  createHash('sha256')
    .update(key ?? '')
    .digest();

function presentedKey(req: Request): string | undefined {
  const m = /^Bearer\s+(\S+)$/i.exec(req.header('authorization')?.trim() ?? '');
  return m?.[1] ?? req.header('x-api-key') ?? undefined;
}

function rpcError(res: Response, status: number, code: number, message: string): void {
  res.status(status).json({ jsonrpc: '2.0', error: { code, message }, id: null });
}

/**
 * MCP over Streamable HTTP at /mcp. The auth guard has checked the key as on every route; each
 * MCP session keeps the key it started with (a request of it with another key is not found)
 * and its tools call this API with that key, so a tenant reaches only its own sandboxes.
 */
// The MCP protocol documents itself (tools/list): not an OpenAPI route.
@ApiExcludeController()
@Controller('mcp')
export class McpController implements OnModuleDestroy {
  private readonly logger = new Logger('mcp');
  private readonly sessions = new Map<string, McpSession>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly config: ApiConfig) {
    const idleMs = config.MCP_SESSION_IDLE_S * 1000;
    this.sweeper = setInterval(() => this.sweep(idleMs), Math.min(60000, Math.ceil(idleMs / 4)));
    this.sweeper.unref();
  }

  /** The API as its own tools reach it: loopback when it listens on every address. */
  private get selfUrl(): string {
    const host = ['0.0.0.0', '::', 'localhost'].includes(this.config.API_HOST)
      ? '127.0.0.1'
      : this.config.API_HOST;
    return `http://${host.includes(':') ? `[${host}]` : host}:${this.config.API_PORT}`;
  }

  @All()
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    const sid = req.header('mcp-session-id');
    const key = presentedKey(req);
    if (sid) {
      const session = this.sessions.get(sid);
      if (!session || !timingSafeEqual(session.keyHash, hashOf(key))) {
        return rpcError(res, 404, -32001, 'MCP session not found');
      }
      this.track(session, res);
      await session.transport.handleRequest(req, res, req.body);
      return;
    }
    if (req.method !== 'POST' || !isInitializeRequest(req.body)) {
      return rpcError(res, 400, -32000, 'no MCP session: send initialize first, then its Mcp-Session-Id');
    }
    if (this.sessions.size >= MAX_MCP_SESSIONS) {
      res.setHeader('Retry-After', '60');
      return rpcError(res, 429, -32000, `at most ${MAX_MCP_SESSIONS} MCP sessions at once`);
    }
    const mcp = new ExecutorMcp({
      client: { baseUrl: this.selfUrl, ...(key ? { apiKey: key } : { tenantId: MCP_DEFAULT_TENANT }) },
    });
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => {
        const session = { transport, mcp, keyHash: hashOf(key), lastSeen: Date.now(), open: 0 };
        this.sessions.set(id, session);
        this.track(session, res);
      },
    });
    transport.onclose = () => {
      if (transport.sessionId) this.sessions.delete(transport.sessionId);
      void mcp.close().catch((err: unknown) => this.logger.warn(`closing an MCP session: ${String(err)}`));
    };
    await mcp.server.connect(transport);
    await transport.handleRequest(req, res, req.body);
  }

  /** Counts a request of the session as open until its response is done or its client gone. */
  private track(session: McpSession, res: Response): void {
    session.open++;
    session.lastSeen = Date.now();
    res.once('close', () => {
      session.open--;
      session.lastSeen = Date.now();
    });
  }

  /** Closes the sessions with no request open for idleMs: their clients went away without DELETE. */
  private sweep(idleMs: number): void {
    const now = Date.now();
    for (const [id, s] of this.sessions) {
      if (s.open === 0 && now - s.lastSeen > idleMs) {
        this.sessions.delete(id);
        void s.transport.close();
      }
    }
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.sweeper);
    const all = [...this.sessions.values()];
    this.sessions.clear();
    await Promise.all(all.map((s) => s.mcp.close()));
  }
}
