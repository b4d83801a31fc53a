import { Inject, Injectable, Logger } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import {
  commandName,
  ErrorCodes,
  EventTypes,
  MAX_PROCESSES_PER_SANDBOX,
  processSpecError,
  ptySizeError,
  StreamTypes,
  type ProcessInfo,
  type ProcessReply,
  type ProcessSelector,
  type RunnerSessionProcess,
} from '@executor/contracts';
import { domainError, EventRecorder, NATS_CONNECTION } from '@executor/common';
import { RUNNER_CONFIG, type RunnerConfig } from '../runner.config';
import { SessionSandboxes } from '../session/session-sandboxes';
import { SandboxProcess, type ProcessEnd } from './sandbox-process';

const STREAM_ID = /^[A-Za-z0-9_-]{8,128}$/;

interface SessionTable {
  tenantId: string;
  processes: Map<number, SandboxProcess>;
  /** Starts in flight count against the cap too. */
  starting: number;
  /** Its session ended: processes still ending say so. */
  closed: boolean;
}

/** The event stream of a session's processes (not the session's own: it is the session-service's). */
export function processStream(sessionId: string): string {
  return `process-${sessionId}`;
}

/**
 * The processes this runner started beside the kernels of the session sandboxes it holds (E2B's
 * commands and PTYs), one table per session: at most MAX_PROCESSES_PER_SANDBOX at once, each
 * recorded when it starts and ends (its program's name only), all ended with their session.
 */
@Injectable()
export class SandboxProcesses {
  private readonly logger = new Logger(SandboxProcesses.name);
  private readonly tables = new Map<string, SessionTable>();

  constructor(
    private readonly sessions: SessionSandboxes,
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly recorder: EventRecorder,
    @Inject(RUNNER_CONFIG) private readonly config: RunnerConfig,
  ) {
    sessions.onClose((sessionId) => this.closeSession(sessionId));
  }

  async handle(req: RunnerSessionProcess): Promise<ProcessReply> {
    switch (req.action) {
      case 'start':
        return { process: await this.start(req) };
      case 'connect': {
        if (!STREAM_ID.test(req.stream_id)) throw domainError(ErrorCodes.ValidationError, 'bad stream_id');
        const p = this.find(req.session_id, req.selector);
        p.watch(req.stream_id);
        return { process: p.info() };
      }
      case 'list':
        this.sessions.sandboxOf(req.session_id);
        return {
          processes: [...(this.tables.get(req.session_id)?.processes.values() ?? [])]
            .filter((p) => p.running)
            .map((p) => p.info()),
        };
      case 'input':
        this.find(req.session_id, req.selector).write(Buffer.from(String(req.data_b64), 'base64'));
        return {};
      case 'close_stdin':
        this.find(req.session_id, req.selector).closeStdin();
        return {};
      case 'signal': {
        if (req.signal !== 'SIGTERM' && req.signal !== 'SIGKILL')
          throw domainError(ErrorCodes.ValidationError, 'signal must be SIGTERM or SIGKILL');
        const p = this.find(req.session_id, req.selector);
        await p.signal(req.signal);
        return { process: p.info() };
      }
      case 'resize': {
        const problem = ptySizeError(req.size);
        if (problem) throw domainError(ErrorCodes.ValidationError, `size: ${problem}`);
        await this.find(req.session_id, req.selector).resize(req.size);
        return {};
      }
      default: {
        const _never: never = req;
        throw domainError(
          ErrorCodes.ValidationError,
          `unknown process action ${String((_never as { action: unknown }).action)}`,
        );
      }
    }
  }

  /** Ends every process of a session (its sandbox is being removed). */
  closeSession(sessionId: string): void {
    const table = this.tables.get(sessionId);
    if (!table) return;
    this.tables.delete(sessionId);
    table.closed = true;
    for (const p of table.processes.values()) p.close();
  }

  private async start(req: Extract<RunnerSessionProcess, { action: 'start' }>): Promise<ProcessInfo> {
    const problem = processSpecError(req.process);
    if (problem) throw domainError(ErrorCodes.ValidationError, problem);
    if (!STREAM_ID.test(req.stream_id)) throw domainError(ErrorCodes.ValidationError, 'bad stream_id');
    const { sandbox, env } = this.sessions.sandboxOf(req.session_id);
    let table = this.tables.get(req.session_id);
    if (!table) {
      table = { tenantId: req.tenant_id, processes: new Map(), starting: 0, closed: false };
      this.tables.set(req.session_id, table);
    }
    if (table.processes.size + table.starting >= MAX_PROCESSES_PER_SANDBOX) {
      throw domainError(
        ErrorCodes.QuotaExceeded,
        `a sandbox runs at most ${MAX_PROCESSES_PER_SANDBOX} processes at once`,
      );
    }
    const t = table;
    t.starting++;
    let proc: SandboxProcess;
    try {
      proc = await SandboxProcess.start(
        sandbox.container,
        this.nc,
        req.process,
        env,
        req.stream_id,
        (p, end) => this.ended(req.session_id, t, p, end, req.correlation_id),
      );
    } finally {
      t.starting--;
    }
    t.processes.set(proc.pid, proc);
    // Its session ended while it started.
    if (t.closed) proc.close();
    try {
      await this.recorder.record(
        processStream(req.session_id),
        StreamTypes.Process,
        'any',
        [
          {
            type: EventTypes.ProcessStarted,
            data: {
              session_id: req.session_id,
              pid: proc.pid,
              command: commandName(req.process.cmd),
              pty: Boolean(req.process.pty),
              runner_id: this.config.RUNNER_ID,
            },
          },
        ],
        { tenantId: req.tenant_id, correlationId: req.correlation_id ?? null },
      );
    } catch (err) {
      // Nothing runs unrecorded.
      await proc.signal('SIGKILL');
      throw err;
    }
    return proc.info();
  }

  /** Recorded with its start's correlation id: one request started it, whatever ended it. */
  private ended(
    sessionId: string,
    table: SessionTable,
    p: SandboxProcess,
    end: ProcessEnd,
    correlationId: string | undefined,
  ): void {
    table.processes.delete(p.pid);
    const closed = table.closed;
    this.recorder
      .record(
        processStream(sessionId),
        StreamTypes.Process,
        'any',
        [
          {
            type: EventTypes.ProcessEnded,
            data: {
              session_id: sessionId,
              pid: p.pid,
              exit_code: end.exit_code,
              reason: closed ? 'sandbox_closed' : 'exited',
              duration_ms: Date.now() - p.startedAt,
              output_bytes: p.output.bytes,
              truncated: p.output.truncated,
            },
          },
        ],
        { tenantId: table.tenantId, correlationId: correlationId ?? null },
      )
      .catch((err: unknown) =>
        this.logger.warn(`could not record the end of a process of ${sessionId}: ${String(err)}`),
      );
  }

  private find(sessionId: string, selector: ProcessSelector | undefined): SandboxProcess {
    this.sessions.sandboxOf(sessionId);
    const table = this.tables.get(sessionId);
    let found: SandboxProcess | undefined;
    if (selector && 'pid' in selector && typeof selector.pid === 'number') {
      found = table?.processes.get(selector.pid);
    } else if (selector && 'tag' in selector && typeof selector.tag === 'string') {
      found = [...(table?.processes.values() ?? [])].find((p) => p.spec.tag === selector.tag);
    } else {
      throw domainError(ErrorCodes.ValidationError, 'select a process by its pid or tag');
    }
    if (!found || !found.running) {
      const name =
        'pid' in selector ? `pid ${selector.pid}` : `tag ${JSON.stringify(selector.tag.slice(0, 64))}`;
      throw domainError(ErrorCodes.NotFound, `no process with ${name}`);
    }
    return found;
  }
}
