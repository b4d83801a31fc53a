import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { Events, type NatsConnection, type Subscription } from 'nats';
import {
  ErrorCodes,
  EventTypes,
  ExecutionDecider,
  StreamTypes,
  Subjects,
  type ErrorCode,
  type EventDataMap,
  type ExecutionCommand,
  type ExecutionEvent,
  type ExecutionState,
  type RunnerHeartbeat,
} from '@executor/contracts';
import { EventRecorder, NATS_CONNECTION, RemoteError, runLostGraceMs } from '@executor/common';
import { CommandHandler, EventStore } from '@executor/event-store';
import { SessionServiceConfig } from '../session-service.config';
import { ExecutionLedger, type LostReason, type OpenExecution } from './execution-ledger';
import { Placements } from './placements';
import { RunnerLiveness, type RunnerView } from './runner-liveness';

interface PendingCall {
  runner_id?: string;
  since_ms: number;
  kind: 'oneoff' | 'session';
  fail: (err: RemoteError) => void;
}

const WATCHED_TYPES = [
  EventTypes.ExecutionStarted,
  EventTypes.ExecutionFinished,
  EventTypes.ExecutionLost,
  EventTypes.RunnerStarted,
];

const LOST_MESSAGE: Record<LostReason, string> = {
  runner_restarted: 'the runner running this execution restarted before it answered',
  runner_silent: 'the runner running this execution stopped sending heartbeats before it answered',
  unfinished: 'this execution did not end within its timeout',
};

/**
 * Watches the runners: their heartbeats (alive, capacity, load) and, from the log, the
 * one-off executions they started. When a runner restarts or goes silent, its unfinished
 * executions get an ExecutionLost marker, the calls waiting on it fail at once with a clear
 * error instead of at their timeout, and its sessions are marked lost (through onRunnerGone).
 */
@Injectable()
export class RunnerWatch implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(RunnerWatch.name);
  private readonly liveness: RunnerLiveness;
  private readonly ledger: ExecutionLedger;
  private readonly pending = new Map<string, PendingCall>();
  private readonly placements = new Placements();
  private readonly executions: CommandHandler<ExecutionState, ExecutionCommand, ExecutionEvent>;
  private subscription?: Subscription;
  private timer?: NodeJS.Timeout;
  private ticking = false;
  private stopped = false;
  private readonly goneListeners: Array<
    (runnerId: string, atMs: number, reason: LostReason) => Promise<unknown>
  > = [];

  constructor(
    private readonly store: EventStore,
    private readonly recorder: EventRecorder,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    @Inject(SessionServiceConfig) private readonly config: SessionServiceConfig,
  ) {
    this.liveness = new RunnerLiveness(config.RUNNER_MISSED_HEARTBEATS);
    this.ledger = new ExecutionLedger(runLostGraceMs(config.EXECUTION_OVERHEAD_S));
    this.executions = new CommandHandler(ExecutionDecider, StreamTypes.Execution, store, recorder);
  }

  onApplicationBootstrap(): void {
    this.liveness.connected(Date.now());
    this.subscription = this.nc.subscribe(Subjects.RunnerHeartbeat, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const hb = JSON.parse(new TextDecoder().decode(msg.data)) as RunnerHeartbeat;
          if (typeof hb.runner_id === 'string' && typeof hb.instance_id === 'string') {
            this.liveness.beat(hb, Date.now());
            this.placements.beat(hb.runner_id, Date.now());
          }
        } catch {
          // not a heartbeat
        }
      },
    });
    void this.watchConnection();
    this.timer = setInterval(() => void this.tick(), this.config.RUNNER_WATCH_INTERVAL_MS);
    this.timer.unref();
    void this.tick();
  }

  onApplicationShutdown(): void {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.subscription?.unsubscribe();
  }

  /**
   * Called when a runner restarted (read from the log, so none is missed) or stopped sending
   * heartbeats, with the time from which its sandboxes are gone: the sessions it held are lost.
   */
  onRunnerGone(listener: (runnerId: string, atMs: number, reason: LostReason) => Promise<unknown>): void {
    this.goneListeners.push(listener);
  }

  /** Runners heard from recently, with their capacity and load. */
  runners(): RunnerView[] {
    return this.liveness.alive();
  }

  /**
   * Runners to place a new session on, least loaded first; draining ones are left out. Sessions
   * placed that a runner's heartbeat does not count yet count too, so a burst of creates spreads.
   */
  placement(): RunnerView[] {
    return byLoad(
      this.liveness
        .alive()
        .map((r) => ({ ...r, sessions: r.sessions + this.placements.pending(r.runner_id) })),
    );
  }

  /** A session is being opened on this runner: call the function returned with the outcome. */
  placed(runnerId: string): (opened: boolean) => void {
    const done = this.placements.start(runnerId);
    return (opened) => done(opened, Date.now());
  }

  /** A runner named in the log (it holds a session): taken for gone unless it heartbeats soon. */
  expect(runnerId: string): void {
    this.liveness.expect(runnerId, Date.now());
  }

  /**
   * Waits for a call to a runner, unless that runner is found dead first: then fails at once.
   * A one-off's runner is learnt from its ExecutionStarted; a session's is known up front.
   */
  failFastIfRunnerLost<T>(
    executionId: string,
    kind: PendingCall['kind'],
    runnerId: string | undefined,
    call: Promise<T>,
  ): Promise<T> {
    if (runnerId) this.liveness.expect(runnerId, Date.now());
    return new Promise<T>((resolve, reject) => {
      this.pending.set(executionId, {
        runner_id: runnerId ?? this.ledger.runnerOf(executionId),
        since_ms: Date.now(),
        kind,
        fail: reject,
      });
      call.then(resolve, reject).finally(() => this.pending.delete(executionId));
    });
  }

  async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      await this.catchUp();
      const now = Date.now();
      for (const r of this.liveness.takeGone(now)) await this.runnerGone(r.runner_id, now, 'runner_silent');
      for (const x of this.ledger.overdue(now)) await this.markLost(x, 'unfinished');
    } catch (err) {
      this.logger.warn(`runner watch: ${err instanceof Error ? err.message : String(err)}`);
    } finally {
      this.ticking = false;
    }
  }

  private async catchUp(): Promise<void> {
    const restarts: Array<{ runner_id: string; at_ms: number }> = [];
    for await (const e of this.store.scan({ types: WATCHED_TYPES, after_position: this.ledger.position })) {
      const { restarted } = this.ledger.apply(e);
      if (restarted) restarts.push(restarted);
      if (e.type === 'ExecutionStarted') {
        const d = e.data as EventDataMap['ExecutionStarted'];
        const call = this.pending.get(d.execution_id);
        if (call && !call.runner_id) call.runner_id = d.runner_id;
        if (this.ledger.runnerOf(d.execution_id)) this.liveness.expect(d.runner_id, Date.now());
      }
      if (e.type === 'ExecutionLost') {
        const d = e.data as EventDataMap['ExecutionLost'];
        this.fail(d.execution_id, ErrorCodes.RunnerLost, LOST_MESSAGE[d.reason]);
      }
    }
    for (const r of restarts) await this.runnerGone(r.runner_id, r.at_ms, 'runner_restarted');
  }

  private async runnerGone(runnerId: string, atMs: number, reason: LostReason): Promise<void> {
    for (const x of this.ledger.ofRunner(runnerId, atMs)) await this.markLost(x, reason);
    for (const [id, call] of this.pending) {
      if (call.runner_id !== runnerId || call.since_ms >= atMs) continue;
      if (call.kind === 'session') {
        this.fail(id, ErrorCodes.SessionLost, `the session was lost: ${LOST_MESSAGE[reason]}`);
      } else {
        this.fail(id, ErrorCodes.RunnerLost, `${LOST_MESSAGE[reason]}; it may have partly run`);
      }
    }
    if (reason === 'runner_silent') this.logger.warn(`runner ${runnerId} stopped sending heartbeats`);
    for (const listener of this.goneListeners) await listener(runnerId, atMs, reason);
  }

  /** Appends the lost marker; an execution that finished meanwhile keeps its finish. */
  private async markLost(x: OpenExecution, reason: LostReason): Promise<void> {
    const { stored } = await this.executions.handle(x.stream_id, { type: 'MarkExecutionLost', reason });
    for (const e of stored) this.ledger.apply(e);
    if (stored.length > 0)
      this.logger.warn(`execution ${x.execution_id} on ${x.runner_id} marked lost: ${reason}`);
    this.fail(x.execution_id, ErrorCodes.RunnerLost, `${LOST_MESSAGE[reason]}; it may have partly run`);
  }

  private fail(executionId: string, code: ErrorCode, message: string): void {
    const call = this.pending.get(executionId);
    if (!call) return;
    this.pending.delete(executionId);
    call.fail(new RemoteError(code, message, code === ErrorCodes.RunnerLost ? 1 : undefined));
  }

  /** Heartbeats missed while we could not hear do not count against a runner. */
  private async watchConnection(): Promise<void> {
    for await (const s of this.nc.status()) {
      if (s.type === Events.Reconnect) this.liveness.connected(Date.now());
    }
  }
}

/**
 * Least loaded first: what a runner runs, queues and holds for sessions, over its capacity
 * (ties: fewer sessions, then id). A draining runner takes nothing new.
 */
export function byLoad(runners: RunnerView[]): RunnerView[] {
  const load = (r: RunnerView) => (r.running + r.queued + r.sessions) / Math.max(1, r.capacity);
  return runners
    .filter((r) => !r.draining)
    .sort((a, b) => load(a) - load(b) || a.sessions - b.sessions || a.runner_id.localeCompare(b.runner_id));
}
