import { Inject, Injectable, Logger, OnApplicationShutdown } from '@nestjs/common';
import {
  ErrorCodes,
  type ContextsReply,
  type FileOpReply,
  type RunnerSessionContexts,
  type RunnerSessionExecute,
  type RunnerSessionFiles,
  type RunnerSessionOpen,
  type SessionExecuteReply,
  type TemplateSpec,
} from '@executor/contracts';
import { domainError, FILE_OP_MS, KeyedLock, NATS_CONNECTION } from '@executor/common';
import type { NatsConnection } from 'nats';
import { executeStreamed } from '../sandbox/run-stream';
import { toResult } from '../execution/execution-result';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import type { Sandbox } from '../sandbox/sandbox';
import { ReadySandboxes } from '../images/ready-sandboxes';
import { RpcException } from '@nestjs/microservices';
import { SandboxPool } from '../sandbox/sandbox-pool';
import { Admission } from '../execution/admission';
import { RUN_LIMITS, type SandboxLimits } from '../sandbox/run-limits';
import { SessionContexts } from './session-contexts';

interface Held {
  sandbox: Sandbox;
  template: TemplateSpec;
  since: number;
  /** The session's own environment variables; a run's own win for that run. */
  env: Record<string, string>;
  /** Runs so far (the reply's execution_count). */
  runs: number;
  /** The sandbox was replaced once: what the session held before is gone, and stays gone. */
  stateLost: boolean;
  /** Closed (destroyed, expired) while a run was in progress. */
  closed: boolean;
  contexts: SessionContexts;
}

/**
 * The sandboxes this runner holds for sessions. Runs in one session are serialized; a run
 * past its timeout is interrupted, and when that fails (or the sandbox dies) the sandbox is
 * replaced and the reply says the state was lost.
 */
@Injectable()
export class SessionSandboxes implements OnApplicationShutdown {
  private readonly logger = new Logger(SessionSandboxes.name);
  private readonly held = new Map<string, Held>();
  private readonly lock = new KeyedLock();
  private readonly closeListeners: Array<(sessionId: string) => void> = [];

  constructor(
    private readonly pool: SandboxPool,
    private readonly sandboxes: ReadySandboxes,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly admission: Admission,
    @Inject(RUN_LIMITS) private readonly limits: SandboxLimits,
  ) {}

  open(req: RunnerSessionOpen): Promise<{ runner_id: string }> {
    return this.lock.run(req.session_id, async () => {
      if (!this.held.has(req.session_id)) {
        const sandbox = await this.acquire(req.template);
        this.held.set(req.session_id, {
          sandbox,
          template: req.template,
          since: Date.now(),
          env: req.env ?? {},
          runs: 0,
          stateLost: false,
          closed: false,
          contexts: new SessionContexts(sandbox, req.template, this.config.KERNEL_READY_TIMEOUT_S * 1000),
        });
      }
      return { runner_id: this.config.RUNNER_ID };
    });
  }

  execute(req: RunnerSessionExecute): Promise<SessionExecuteReply> {
    return this.lock.run(req.session_id, () => this.admission.run(() => this.run(req)));
  }

  private async run(req: RunnerSessionExecute): Promise<SessionExecuteReply> {
    const held = this.live(req.session_id);
    const { kernel, language } = await held.contexts.forRun(req.context_id, req.language);
    const count = ++held.runs;
    // A streaming caller that goes away interrupts the run; the session keeps its state.
    const outcome = await executeStreamed(
      this.nc,
      kernel,
      {
        code: req.code,
        language,
        files: req.files,
        env: { ...held.env, ...req.env },
        ...(req.stdin !== undefined ? { stdin: req.stdin } : {}),
      },
      req.timeout * 1000,
      'interrupt',
      req.stream_id,
    );
    if (held.closed) {
      throw domainError(ErrorCodes.SessionDestroyed, 'the session was ended while this run was in progress');
    }
    if (outcome.died && kernel !== held.sandbox && held.sandbox.alive) {
      // A context's kernel died (killed after an interrupt that did not work, say): it comes
      // back empty; the rest of the session is untouched.
      held.stateLost = true;
      await held.contexts.revive(kernel).catch((err: unknown) => {
        this.logger.warn(`could not restart a context of ${req.session_id}: ${String(err)}`);
      });
    } else if (outcome.died) {
      // Killed after an interrupt that did not work, OOM-killed, or the kernel died:
      // the session goes on in a fresh sandbox, and says its state is gone.
      held.stateLost = true;
      this.pool.discard(held.sandbox);
      try {
        held.sandbox = await this.acquire(held.template);
        held.contexts.replaced(held.sandbox);
        if (held.closed) this.pool.discard(held.sandbox);
      } catch (err) {
        this.held.delete(req.session_id);
        this.logger.warn(`could not replace the sandbox of ${req.session_id}: ${String(err)}`);
      }
    }
    const result = toResult(
      {
        execution_id: req.execution_id,
        template: held.template,
        language,
        timeout: req.timeout,
        replyBytes: this.limits.replyBytes,
      },
      outcome,
    );
    if (outcome.timedOut && !outcome.died && result.error) {
      result.error.value = `execution exceeded the timeout of ${req.timeout} s and was interrupted; the session's state is kept`;
    }
    return {
      ...result,
      results: result.results.map((r) => ({ ...r, execution_count: count })),
      session_id: req.session_id,
      state_lost: held.stateLost,
      execution_count: count,
    };
  }

  files(req: RunnerSessionFiles): Promise<FileOpReply> {
    return this.lock.run(req.session_id, async () => {
      const held = this.live(req.session_id);
      const outcome = await held.sandbox.execute(
        { op: 'files', action: req.op, path: req.path, content_b64: req.content_b64 },
        FILE_OP_MS,
        'interrupt',
      );
      const { error, filesReply } = outcome.output;
      if (error) {
        const code = error.name === 'FileNotFound' ? ErrorCodes.FileNotFound : ErrorCodes.FileRefused;
        throw domainError(code, error.value);
      }
      if (!filesReply)
        throw domainError(ErrorCodes.SandboxError, 'the sandbox did not answer the file operation');
      return filesReply;
    });
  }

  /** Creates, lists, restarts or removes a session's contexts (kernels beside its first one). */
  contexts(req: RunnerSessionContexts): Promise<ContextsReply> {
    return this.lock.run(req.session_id, async () => {
      const held = this.live(req.session_id);
      const c = held.contexts;
      switch (req.action) {
        case 'create': {
          const ctx = await c.create(req.language, req.cwd);
          return {
            context: { id: ctx.id, language: ctx.language, cwd: ctx.cwd, default: ctx.default },
            contexts: c.list(),
          };
        }
        case 'restart':
          return { context: await c.restart(req.context_id ?? ''), contexts: c.list() };
        case 'remove':
          return { context: c.remove(req.context_id ?? ''), contexts: c.list() };
        case 'list':
          return { contexts: c.list() };
        default: {
          const _never: never = req.action;
          throw domainError(ErrorCodes.ValidationError, `unknown context action ${String(_never)}`);
        }
      }
    });
  }

  /**
   * Closes a session's sandbox at once, without waiting for its turn: a run in progress ends
   * with the sandbox (its caller hears the session was ended).
   */
  close(sessionId: string): Promise<{ closed: boolean }> {
    const held = this.held.get(sessionId);
    this.held.delete(sessionId);
    for (const listener of this.closeListeners) listener(sessionId);
    if (held) {
      held.closed = true;
      held.contexts.closeAll();
      this.pool.discard(held.sandbox);
    }
    return Promise.resolve({ closed: Boolean(held) });
  }

  /** Called when a session's sandbox is closed: what runs beside its kernel ends with it. */
  onClose(listener: (sessionId: string) => void): void {
    this.closeListeners.push(listener);
  }

  /** A session's live sandbox and environment, for work beside its kernel (out of its turn). */
  sandboxOf(sessionId: string): { sandbox: Sandbox; env: Record<string, string> } {
    const held = this.live(sessionId);
    return { sandbox: held.sandbox, env: held.env };
  }

  /** How many session sandboxes this runner holds. */
  get size(): number {
    return this.held.size;
  }

  list(): { runner_id: string; session_ids: string[]; held_ms: Record<string, number> } {
    const now = Date.now();
    return {
      runner_id: this.config.RUNNER_ID,
      session_ids: [...this.held.keys()],
      held_ms: Object.fromEntries([...this.held].map(([id, h]) => [id, now - h.since])),
    };
  }

  onApplicationShutdown(): void {
    this.held.clear();
  }

  private live(sessionId: string): Held {
    const held = this.held.get(sessionId);
    if (!held || !held.sandbox.alive) {
      if (held) {
        this.held.delete(sessionId);
        this.pool.discard(held.sandbox);
      }
      throw domainError(ErrorCodes.SessionNotFound, 'this runner holds no sandbox for the session');
    }
    return held;
  }

  private async acquire(template: TemplateSpec): Promise<Sandbox> {
    try {
      return await this.sandboxes.acquire(template);
    } catch (err) {
      if (err instanceof RpcException) throw err;
      throw domainError(ErrorCodes.SandboxError, 'could not start a sandbox for the session; try again');
    }
  }
}
