import { Inject, Injectable } from '@nestjs/common';
import {
  Subjects,
  type ContextAction,
  type FileOp,
  type ProcessAction,
  type ProcessReply,
  type SessionCreateReply,
  type SessionView,
} from '@executor/contracts';
import { NatsRpc, runReplyTimeoutMs } from '@executor/common';
import { ApiConfig } from '../api.config';
import { E2B_SCOPE, type SandboxRef } from './e2b-caller';

/** E2B's default lifetime of a sandbox, in seconds. */
export const E2B_DEFAULT_TIMEOUT_S = 300;
/** Template names E2B's SDKs use by default, and the built-in that serves them. */
const TEMPLATE_ALIASES: Record<string, string> = {
  'code-interpreter-v1': 'code-interpreter',
  base: 'code-interpreter',
};

export function templateFor(e2bTemplate: string): string {
  return TEMPLATE_ALIASES[e2bTemplate] ?? e2bTemplate;
}

/**
 * The session commands an E2B sandbox is made of: each call is one of our NATS requests, so an
 * E2B sandbox is a session and nothing of it is kept here.
 */
@Injectable()
export class SandboxSessions {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  /** E2B's timeout is an absolute lifetime; the idle ttl is the same, so the deadline comes first. */
  create(
    tenantId: string,
    body: {
      template: string;
      timeout: number;
      metadata: Record<string, string>;
      env: Record<string, string>;
    },
    correlationId: string,
  ): Promise<SessionCreateReply> {
    return this.rpc.send(
      Subjects.SessionCreate,
      {
        tenant_id: tenantId,
        scope: E2B_SCOPE,
        template: templateFor(body.template),
        ttl: body.timeout,
        lifetime: body.timeout,
        metadata: body.metadata,
        reuse: false,
        env: body.env,
        correlation_id: correlationId,
      },
      // Creating may wait for a sandbox to start.
      this.config.rpcTimeouts.sessionOpen,
    );
  }

  get(ref: SandboxRef): Promise<SessionView> {
    return this.rpc.send(Subjects.SessionGet, ref, this.config.RPC_TIMEOUT_MS);
  }

  list(tenantId: string): Promise<SessionView[]> {
    return this.rpc.send(Subjects.SessionList, { tenant_id: tenantId }, this.config.RPC_TIMEOUT_MS);
  }

  destroy(ref: SandboxRef) {
    return this.rpc.send(Subjects.SessionDestroy, ref, this.config.rpcTimeouts.forwarded);
  }

  /** Moves the end of the sandbox's life to `timeout` seconds from now. */
  setTimeout(ref: SandboxRef, timeout: number): Promise<SessionView> {
    return this.rpc.send(
      Subjects.SessionSetLifetime,
      { ...ref, lifetime: timeout },
      this.config.RPC_TIMEOUT_MS,
    );
  }

  execute(
    ref: SandboxRef,
    run: {
      code: string;
      language?: string;
      context_id?: string;
      env: Record<string, string>;
      timeout?: number;
      /** The caller's key's longest run; MAX_TIMEOUT_S otherwise. */
      max_timeout?: number;
    },
    streamId?: string,
  ) {
    const cap = Math.min(run.max_timeout ?? this.config.MAX_TIMEOUT_S, this.config.MAX_TIMEOUT_S);
    const timeout = Math.min(run.timeout ?? cap, cap);
    return this.rpc.send(
      Subjects.SessionExecute,
      {
        ...ref,
        ...(run.context_id ? { context_id: run.context_id } : {}),
        code: run.code,
        language: run.language,
        files: [],
        timeout,
        max_timeout: cap,
        env: run.env,
        stream_id: streamId,
      },
      runReplyTimeoutMs(timeout, this.config.EXECUTION_OVERHEAD_S),
    );
  }

  files(ref: SandboxRef, op: FileOp, path: string, contentB64?: string) {
    return this.rpc.send(
      Subjects.SessionFiles,
      { ...ref, op, path, ...(contentB64 !== undefined ? { content_b64: contentB64 } : {}) },
      this.config.rpcTimeouts.fileOpForwarded,
    );
  }

  /** A process beside the sandbox's kernel (E2B's commands and PTYs). */
  process(ref: SandboxRef, action: ProcessAction): Promise<ProcessReply> {
    return this.rpc.send(
      Subjects.SessionProcess,
      { ...ref, ...action },
      this.config.rpcTimeouts.fileOpForwarded,
    );
  }

  contexts(
    ref: SandboxRef,
    action: ContextAction,
    extra: { language?: string; cwd?: string; context_id?: string } = {},
  ) {
    return this.rpc.send(
      Subjects.SessionContexts,
      { ...ref, action, ...extra },
      // Starting a context waits for its kernel to load.
      this.config.rpcTimeouts.sessionOpen,
    );
  }
}
