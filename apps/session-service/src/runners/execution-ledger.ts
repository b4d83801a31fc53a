import type { EventDataMap, EventEnvelope } from '@executor/contracts';

export interface OpenExecution {
  execution_id: string;
  stream_id: string;
  runner_id: string;
  started_ms: number;
  timeout_s: number;
}

export type LostReason = EventDataMap['ExecutionLost']['reason'];

/**
 * The one-off executions that started and have not ended, read from the log in position
 * order. Knows which of them can no longer end: their runner restarted after they started,
 * went silent, or they are older than their timeout allows. Pure: events and time come in.
 */
export class ExecutionLedger {
  private readonly open = new Map<string, OpenExecution>();
  position = 0;

  constructor(private readonly overheadMs: number) {}

  get size(): number {
    return this.open.size;
  }

  /** Applies one event; returns the runner that restarted, when it is a RunnerStarted. */
  apply(e: EventEnvelope): { restarted?: { runner_id: string; at_ms: number } } {
    if (e.position <= this.position) return {};
    this.position = e.position;
    if (e.type === 'ExecutionStarted') {
      const d = e.data as EventDataMap['ExecutionStarted'];
      this.open.set(d.execution_id, {
        execution_id: d.execution_id,
        stream_id: e.stream_id,
        runner_id: d.runner_id,
        started_ms: Date.parse(e.occurred_at),
        timeout_s: d.timeout_s,
      });
    } else if (e.type === 'ExecutionFinished' || e.type === 'ExecutionLost') {
      this.open.delete((e.data as { execution_id: string }).execution_id);
    } else if (e.type === 'RunnerStarted') {
      const d = e.data as EventDataMap['RunnerStarted'];
      return { restarted: { runner_id: d.runner_id, at_ms: Date.parse(e.occurred_at) } };
    }
    return {};
  }

  runnerOf(executionId: string): string | undefined {
    return this.open.get(executionId)?.runner_id;
  }

  /** Open executions of a runner that started before `beforeMs`. */
  ofRunner(runnerId: string, beforeMs: number): OpenExecution[] {
    return [...this.open.values()].filter((x) => x.runner_id === runnerId && x.started_ms < beforeMs);
  }

  /** Open executions older than their timeout plus the overhead allows: nothing will end them. */
  overdue(now: number): OpenExecution[] {
    return [...this.open.values()].filter((x) => now - x.started_ms > x.timeout_s * 1000 + this.overheadMs);
  }
}
