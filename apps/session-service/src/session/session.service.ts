import { Inject, Injectable, Logger } from '@nestjs/common';
import type { RpcException } from '@nestjs/microservices';
import { createHash, randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  RUNNER_ID_PATTERN,
  runnerOwnSubject,
  StreamTypes,
  Subjects,
  type RunnerSessionSubject,
  type TemplateSpec,
  type ContextsReply,
  type FileOpReply,
  type RpcReply,
  type RpcRequest,
  type SessionContextsCommand,
  type SessionCreateCommand,
  type SessionCreateReply,
  type SessionExecuteCommand,
  type SessionExecuteReply,
  type SessionFilesCommand,
  type SessionLifetimeCommand,
  type SessionRefCommand,
  type SessionView,
  type ProcessReply,
  type SessionProcessCommand,
} from '@executor/contracts';
import {
  domainError,
  EventRecorder,
  KeyedLock,
  NatsRpc,
  RemoteError,
  runReplyTimeoutMs,
  runTimeoutS,
} from '@executor/common';
import { CommandHandler } from '@executor/event-store';
import { SessionServiceConfig } from '../session-service.config';
import { RunnerWatch } from '../runners/runner-watch';
import { resolveLanguage, TemplateLookup } from '../execution/template-lookup';
import { DEFAULT_TEMPLATE } from '../execution/one-off-execution.service';
import {
  expiresAt,
  isExpired,
  isPastDeadline,
  requireLive,
  SessionDecider,
  type ActiveSession,
  type Session,
  type SessionCommand,
  type SessionState,
} from './session.decider';

import { SessionRepository, sessionStream } from './session.repository';

/** The runner's answer when it holds no sandbox for the session. */
const sandboxMissing = (err: unknown) =>
  err instanceof RemoteError && err.code === ErrorCodes.SessionNotFound;

/**
 * The Session aggregate's command side: load the state, decide, append with the expected
 * version, publish, then talk to the runner that holds the sandbox. Commands on one session
 * run one after the other, so its executions are never interleaved.
 */
@Injectable()
export class SessionService {
  private readonly logger = new Logger(SessionService.name);
  private readonly lock = new KeyedLock();
  /** Destroys under way by session: each closes the sandbox first, then waits for its turn. */
  private readonly destroying = new Map<string, number>();
  private readonly sessions: CommandHandler<SessionState, SessionCommand>;

  constructor(
    private readonly repo: SessionRepository,
    recorder: EventRecorder,
    private readonly rpc: NatsRpc,
    private readonly templates: TemplateLookup,
    @Inject(SessionServiceConfig) private readonly config: SessionServiceConfig,
    private readonly runners: RunnerWatch,
  ) {
    this.sessions = new CommandHandler(SessionDecider, StreamTypes.Session, recorder.store, recorder);
  }

  async create(cmd: SessionCreateCommand): Promise<SessionCreateReply> {
    const templateName = cmd.template ?? DEFAULT_TEMPLATE;
    const template = await this.templates.get(templateName, cmd.tenant_id);
    const ttl = cmd.ttl ?? this.config.SESSION_DEFAULT_TTL_S;
    if (ttl > this.config.SESSION_MAX_TTL_S) {
      throw domainError(
        ErrorCodes.ValidationError,
        `ttl must be at most ${this.config.SESSION_MAX_TTL_S} seconds`,
      );
    }
    // One create at a time per tenant: reuse and limits are decided on settled state.
    return this.lock.run(`create:${cmd.tenant_id}`, async () => {
      const now = new Date();
      if (cmd.reuse) {
        const match = this.repo
          .all()
          .find(
            (s) =>
              s.status === 'active' &&
              s.tenant_id === cmd.tenant_id &&
              s.scope === cmd.scope &&
              s.template === template.name &&
              !isExpired(s, now),
          );
        if (match) {
          const state = await this.command(match.session_id, { type: 'ReuseSession', now }, cmd);
          return this.createReply(state, true);
        }
      }
      const active = this.repo.all().filter((s) => s.status === 'active' && !isExpired(s, now));
      if (active.length >= this.config.MAX_SESSIONS) {
        throw domainError(
          ErrorCodes.SessionLimit,
          `the service holds its maximum of ${this.config.MAX_SESSIONS} sessions`,
        );
      }
      const mine = active.filter((s) => s.tenant_id === cmd.tenant_id).length;
      if (mine >= this.config.MAX_SESSIONS_PER_TENANT) {
        throw domainError(
          ErrorCodes.SessionLimit,
          `tenant ${cmd.tenant_id} has its maximum of ${this.config.MAX_SESSIONS_PER_TENANT} live sessions; destroy one first`,
        );
      }
      const sessionId = randomUUID();
      const { runner_id } = await this.openSandbox(sessionId, template, cmd.env);
      try {
        const state = await this.command(
          sessionId,
          {
            type: 'CreateSession',
            session_id: sessionId,
            tenant_id: cmd.tenant_id,
            scope: cmd.scope,
            template: template.name,
            ttl_s: ttl,
            metadata: cmd.metadata,
            runner_id,
            ...(cmd.lifetime
              ? { deadline_at: new Date(now.getTime() + cmd.lifetime * 1000).toISOString() }
              : {}),
          },
          cmd,
        );
        return this.createReply(state, false);
      } catch (err) {
        await this.closeSandbox(sessionId, runner_id);
        throw err;
      }
    });
  }

  /**
   * Opens a session's sandbox on the least loaded runner, on that runner's own subject; when it
   * is busy or gone, on the next one. With no runner heard from yet, any runner of the queue
   * group takes it. The runner that answers holds the sandbox: the session is pinned to it.
   */
  private async openSandbox(
    sessionId: string,
    template: TemplateSpec,
    env: Record<string, string>,
  ): Promise<{ runner_id: string }> {
    const request = { session_id: sessionId, template, env };
    const timeoutMs = this.config.rpcTimeouts.sandboxOpen;
    const candidates = this.runners.placement().slice(0, 3);
    if (candidates.length === 0) return this.rpc.send(Subjects.RunnerSessionOpen, request, timeoutMs);
    for (let i = 0; ; i++) {
      const runnerId = candidates[i].runner_id;
      const placed = this.runners.placed(runnerId);
      try {
        const call = this.rpc.send(
          Subjects.RunnerSessionOpen,
          request,
          timeoutMs,
          runnerOwnSubject(runnerId, Subjects.RunnerSessionOpen),
        );
        const opened = await this.runners.failFastIfRunnerLost(`open-${sessionId}`, 'oneoff', runnerId, call);
        placed(true);
        return opened;
      } catch (err) {
        placed(false);
        const next =
          err instanceof RemoteError &&
          (err.code === ErrorCodes.RunnerBusy ||
            err.code === ErrorCodes.RunnerLost ||
            err.code === ErrorCodes.DependencyUnavailable);
        if (!next || i + 1 >= candidates.length) throw err;
        this.logger.warn(`runner ${runnerId} could not open a sandbox (${err.code}); trying the next`);
      }
    }
  }

  execute(cmd: SessionExecuteCommand): Promise<SessionExecuteReply> {
    return this.lock.run(cmd.session_id, async () => {
      const state = await this.liveSession(cmd);
      const template = await this.templates.get(state.template, state.tenant_id);
      // In a context, no language means the context's own (the runner knows it).
      const language = cmd.context_id && !cmd.language ? '' : resolveLanguage(template, cmd.language);
      const timeout = runTimeoutS(cmd.timeout, template.timeout, cmd.max_timeout);
      let reply: SessionExecuteReply;
      const executionId = randomUUID();
      try {
        const call = this.rpc.send(
          Subjects.RunnerSessionExecute,
          {
            session_id: cmd.session_id,
            ...(cmd.context_id ? { context_id: cmd.context_id } : {}),
            execution_id: executionId,
            code: cmd.code,
            language,
            files: cmd.files,
            env: cmd.env,
            stdin: cmd.stdin,
            timeout,
            stream_id: cmd.stream_id,
          },
          runReplyTimeoutMs(timeout, this.config.EXECUTION_OVERHEAD_S),
          pinned(state, Subjects.RunnerSessionExecute),
        );
        // Fails at once when the session's runner dies or restarts meanwhile.
        reply = await this.runners.failFastIfRunnerLost(executionId, 'session', state.runner_id, call);
      } catch (err) {
        if (sandboxMissing(err)) {
          throw await this.sandboxGone(cmd, () =>
            this.command(cmd.session_id, { type: 'MarkSessionLost', reason: 'sandbox gone' }, cmd),
          );
        }
        // Ended during the run (destroyed, or its lifetime ran out): the caller hears which.
        if (
          err instanceof RemoteError &&
          err.code === ErrorCodes.SessionDestroyed &&
          isPastDeadline(state, new Date())
        ) {
          throw domainError(
            ErrorCodes.SessionExpired,
            'the session reached the end of its lifetime during the run',
          );
        }
        throw err;
      }
      await this.command(
        cmd.session_id,
        {
          type: 'RecordExecution',
          now: new Date(),
          result: {
            execution_id: reply.execution_id,
            language: reply.language,
            code_bytes: Buffer.byteLength(cmd.code),
            code_sha256: createHash('sha256').update(cmd.code).digest('hex'),
            status: reply.status,
            exit_code: reply.exit_code,
            duration_ms: Math.round(reply.execution_time * 1000),
            timed_out: reply.timed_out,
            oom_killed: reply.oom_killed,
            truncated: reply.truncated,
            state_lost: reply.state_lost,
          },
        },
        cmd,
      );
      return reply;
    });
  }

  /**
   * Ends a session at once, even while it runs: its sandbox is closed first, without waiting
   * for the session's turn (the run in progress ends as destroyed), then the end is recorded.
   */
  async destroy(cmd: SessionRefCommand): Promise<{ status: 'success'; session_id: string }> {
    const current = this.visible(cmd);
    this.destroying.set(cmd.session_id, (this.destroying.get(cmd.session_id) ?? 0) + 1);
    try {
      if (current.status === 'active') await this.closeSandbox(cmd.session_id, current.runner_id);
      return await this.lock.run(cmd.session_id, async () => {
        this.visible(cmd);
        const ended = await this.command(cmd.session_id, { type: 'DestroySession', now: new Date() }, cmd);
        await this.closeSandbox(cmd.session_id, ended.runner_id);
        return { status: 'success' as const, session_id: cmd.session_id };
      });
    } finally {
      const left = (this.destroying.get(cmd.session_id) ?? 1) - 1;
      if (left > 0) this.destroying.set(cmd.session_id, left);
      else this.destroying.delete(cmd.session_id);
    }
  }

  /** Moves the end of a live session's life to `lifetime` seconds from now. */
  setLifetime(cmd: SessionLifetimeCommand): Promise<SessionView> {
    if (cmd.lifetime > this.config.SESSION_MAX_TTL_S) {
      throw domainError(
        ErrorCodes.ValidationError,
        `timeout must be at most ${this.config.SESSION_MAX_TTL_S} seconds`,
      );
    }
    return this.lock.run(cmd.session_id, async () => {
      await this.liveSession(cmd);
      const state = await this.command(
        cmd.session_id,
        { type: 'MoveDeadline', now: new Date(), lifetime_s: cmd.lifetime },
        cmd,
      );
      return view(state);
    });
  }

  get(cmd: SessionRefCommand): SessionView {
    return view(this.visible(cmd));
  }

  list(tenantId: string): SessionView[] {
    return this.repo
      .all()
      .filter((s) => s.tenant_id === tenantId)
      .sort((a, b) => b.created_at.localeCompare(a.created_at))
      .map(view);
  }

  files(cmd: SessionFilesCommand): Promise<FileOpReply> {
    return this.callHolder(cmd, Subjects.RunnerSessionFiles, this.config.rpcTimeouts.fileOp, {
      session_id: cmd.session_id,
      op: cmd.op,
      path: cmd.path,
      content_b64: cmd.content_b64,
    });
  }

  /** Contexts of a live session: starting one may wait for a kernel to load. */
  contexts(cmd: SessionContextsCommand): Promise<ContextsReply> {
    return this.callHolder(cmd, Subjects.RunnerSessionContexts, this.config.rpcTimeouts.sandboxOpen, {
      session_id: cmd.session_id,
      action: cmd.action,
      language: cmd.language,
      cwd: cmd.cwd,
      context_id: cmd.context_id,
    });
  }

  /**
   * A process beside the session's kernel (E2B's commands and PTYs), at the runner holding its
   * sandbox: out of the session's turn, so a running one holds no run or file call up. Its
   * calls take a file operation's budget (a start waits for the process to report its pid).
   */
  async process(cmd: SessionProcessCommand): Promise<ProcessReply> {
    const state = await this.liveSession(cmd);
    const { tenant_id: _tenant, ...call } = cmd;
    try {
      return await this.rpc.send(
        Subjects.RunnerSessionProcess,
        { ...call, tenant_id: state.tenant_id },
        this.config.rpcTimeouts.fileOp,
        pinned(state, Subjects.RunnerSessionProcess),
      );
    } catch (err) {
      if (sandboxMissing(err)) {
        throw await this.sandboxGone(cmd, () =>
          this.lock.run(cmd.session_id, () =>
            this.command(cmd.session_id, { type: 'MarkSessionLost', reason: 'sandbox gone' }, cmd),
          ),
        );
      }
      throw err;
    }
  }

  /**
   * What a runner holding no sandbox for the session means: ended, when a destroy closed the
   * sandbox before the call reached it; else the sandbox is gone and the session is recorded
   * lost (`markLost`).
   */
  private async sandboxGone(cmd: SessionRefCommand, markLost: () => Promise<unknown>): Promise<RpcException> {
    if (this.destroying.has(cmd.session_id)) {
      return domainError(
        ErrorCodes.SessionDestroyed,
        'the session was ended while this call was in progress',
      );
    }
    await markLost();
    return domainError(ErrorCodes.SessionLost, 'the session was lost: its sandbox is gone');
  }

  /** One call, in the session's turn, to the runner holding its sandbox; a sandbox gone is a lost session. */
  private callHolder<S extends typeof Subjects.RunnerSessionFiles | typeof Subjects.RunnerSessionContexts>(
    cmd: SessionRefCommand,
    subject: S,
    timeoutMs: number,
    request: RpcRequest<S>,
  ): Promise<RpcReply<S>> {
    return this.lock.run(cmd.session_id, async () => {
      const state = await this.liveSession(cmd);
      try {
        return await this.rpc.send(subject, request, timeoutMs, pinned(state, subject));
      } catch (err) {
        if (sandboxMissing(err)) {
          throw await this.sandboxGone(cmd, () =>
            this.command(cmd.session_id, { type: 'MarkSessionLost', reason: 'sandbox gone' }, cmd),
          );
        }
        throw err;
      }
    });
  }

  /** Expires every live session idle past its ttl and releases its sandbox. */
  async expireIdle(now = new Date()): Promise<number> {
    const due = this.repo.all().filter((s) => s.status === 'active' && isExpired(s, now));
    for (const s of due) {
      // A deadline ends the session even while it runs: the sandbox goes first, not in turn.
      if (isPastDeadline(s, now)) await this.closeSandbox(s.session_id, s.runner_id);
      await this.lock.run(s.session_id, async () => {
        const events = await this.command(s.session_id, { type: 'ExpireSession', now }, {});
        if (events.status === 'expired') await this.closeSandbox(s.session_id, s.runner_id);
      });
    }
    return due.length;
  }

  /** A runner started at `startedAt`: the sandboxes it held before are gone. */
  async markLostOnRunner(runnerId: string, startedAt: string, reason: string): Promise<number> {
    const affected = this.repo
      .all()
      .filter((s) => s.status === 'active' && s.runner_id === runnerId && s.created_at < startedAt);
    for (const s of affected) {
      await this.lock.run(s.session_id, () =>
        this.command(s.session_id, { type: 'MarkSessionLost', reason }, {}),
      );
    }
    if (affected.length > 0)
      this.logger.warn(`marked ${affected.length} session(s) of ${runnerId} lost: ${reason}`);
    return affected.length;
  }

  /**
   * Brings sessions and the runners' sandboxes into line (after a restart of either side, and
   * on a timer), runner by runner: every runner heard from is asked what it holds. A runner
   * that holds live sessions but is not heard from is watched: unless it heartbeats soon, its
   * sessions are lost (RunnerWatch reports it gone). Fails only when no runner answers.
   */
  async reconcile(): Promise<{ lost: number; closed: number; runners: number }> {
    const alive = new Set(this.runners.runners().map((r) => r.runner_id));
    for (const s of this.repo.all()) {
      if (s.status === 'active' && s.runner_id && !alive.has(s.runner_id)) this.runners.expect(s.runner_id);
    }
    const total = { lost: 0, closed: 0, runners: 0 };
    let failure: Error | undefined;
    for (const runnerId of alive) {
      try {
        const { lost, closed } = await this.reconcileRunner(runnerId);
        total.lost += lost;
        total.closed += closed;
        total.runners++;
      } catch (err) {
        failure = err instanceof Error ? err : new Error(String(err));
        this.logger.warn(`could not reconcile with runner ${runnerId}: ${failure.message}`);
      }
    }
    if (total.runners === 0) {
      throw failure ?? domainError(ErrorCodes.DependencyUnavailable, 'no runner has been heard from');
    }
    return total;
  }

  /**
   * One runner: an active session pinned to it whose sandbox it does not hold is lost; a
   * sandbox it holds for a session that is not active (one whose create never got recorded, or
   * that ended while the runner could not be told) is closed, once it is older than any create
   * in flight.
   */
  private async reconcileRunner(runnerId: string): Promise<{ lost: number; closed: number }> {
    const { runner_id, session_ids, held_ms } = await this.rpc.send(
      Subjects.RunnerSessionList,
      {},
      this.config.RPC_TIMEOUT_MS,
      runnerOwnSubject(runnerId, Subjects.RunnerSessionList),
    );
    const held = new Set(session_ids);
    const missing = this.repo
      .all()
      .filter((s) => s.status === 'active' && s.runner_id === runner_id && !held.has(s.session_id));
    for (const s of missing) {
      await this.lock.run(s.session_id, () =>
        this.command(
          s.session_id,
          { type: 'MarkSessionLost', reason: 'the runner does not hold its sandbox' },
          {},
        ),
      );
    }
    if (missing.length > 0)
      this.logger.warn(`marked ${missing.length} session(s) of ${runner_id} lost after reconciling`);
    const graceMs = this.config.rpcTimeouts.strayGrace;
    const isLive = (id: string) => this.repo.get(id).status === 'active';
    const strays = session_ids.filter((id) => !isLive(id) && (held_ms?.[id] ?? 0) > graceMs);
    for (const id of strays) {
      await this.lock.run(id, async () => {
        if (!isLive(id)) await this.closeSandbox(id, runner_id);
      });
    }
    if (strays.length > 0) this.logger.warn(`closed ${strays.length} sandbox(es) no live session owns`);
    return { lost: missing.length, closed: strays.length };
  }

  /**
   * Decides on the session as the repository holds it and appends at its version; after a
   * concurrent append the repository catches up and the command is decided once more.
   */
  private async command(
    sessionId: string,
    command: SessionCommand,
    meta: { tenant_id?: string; correlation_id?: string },
  ): Promise<Session> {
    const handled = await this.sessions.handle(sessionStream(sessionId), command, {
      known: this.repo.loaded(sessionId),
      reload: async () => {
        await this.repo.catchUp();
        return this.repo.loaded(sessionId);
      },
      meta: (state) => ({
        tenantId: (state.status === 'none' ? '' : state.tenant_id) || meta.tenant_id || null,
        correlationId: meta.correlation_id ?? null,
      }),
    });
    for (const e of handled.stored) this.repo.apply(e);
    // Every command but CreateSession is refused on a session that does not exist.
    if (handled.state.status === 'none')
      throw domainError(ErrorCodes.SessionNotFound, `no session ${sessionId}`);
    return handled.state;
  }

  /** The session as its tenant may see it; another tenant's session does not exist. */
  private visible(cmd: { session_id: string; tenant_id?: string }): Session {
    const state = this.repo.get(cmd.session_id);
    if (state.status === 'none' || (cmd.tenant_id !== undefined && cmd.tenant_id !== state.tenant_id)) {
      throw domainError(ErrorCodes.SessionNotFound, `no session ${cmd.session_id}`);
    }
    return state;
  }

  /** A session that can take a call now; one idle past its ttl is expired on the spot. */
  private async liveSession(cmd: SessionRefCommand): Promise<ActiveSession> {
    const state = this.visible(cmd);
    if (state.status === 'active' && isExpired(state, new Date())) {
      await this.command(cmd.session_id, { type: 'ExpireSession', now: new Date() }, cmd);
      await this.closeSandbox(cmd.session_id, state.runner_id);
    }
    const current = this.repo.get(cmd.session_id);
    requireLive(current);
    return current;
  }

  private async closeSandbox(sessionId: string, runnerId: string): Promise<void> {
    try {
      await this.rpc.send(
        Subjects.RunnerSessionClose,
        { session_id: sessionId },
        this.config.RPC_TIMEOUT_MS,
        runnerOwnSubject(runnerId, Subjects.RunnerSessionClose),
      );
    } catch (err) {
      // The runner's orphan sweep removes what it could not close now.
      this.logger.warn(
        `could not close the sandbox of ${sessionId}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
  }

  private createReply(state: Session, reused: boolean): SessionCreateReply {
    return {
      status: 'success',
      session_id: state.session_id,
      template: state.template,
      ttl: state.ttl_s,
      reused,
      expires_at: expiresAt(state).toISOString(),
      ...(state.deadline_at ? { deadline_at: state.deadline_at } : {}),
    };
  }
}

/** The subject of the runner a session is pinned to; a session with no valid runner is lost. */
function pinned(state: Session, subject: RunnerSessionSubject): string {
  if (!RUNNER_ID_PATTERN.test(state.runner_id)) {
    throw domainError(ErrorCodes.SessionLost, 'the session was lost: the runner holding it is unknown');
  }
  return runnerOwnSubject(state.runner_id, subject);
}

function view(s: Session): SessionView {
  return {
    session_id: s.session_id,
    tenant_id: s.tenant_id,
    scope: s.scope,
    template: s.template,
    state: s.status,
    ttl: s.ttl_s,
    metadata: s.metadata,
    created_at: s.created_at,
    last_used_at: s.last_used_at,
    expires_at: expiresAt(s).toISOString(),
    ...(s.deadline_at ? { deadline_at: s.deadline_at } : {}),
    executions: s.executions,
  };
}
