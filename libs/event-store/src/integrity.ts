import type { EventEnvelope } from '@executor/contracts';

export interface IntegrityReport {
  events: number;
  head: number;
  /** Positions missing between 1 and the head. */
  position_gaps: number[];
  /** Streams whose versions do not run 1, 2, 3, … in position order. */
  version_breaks: Array<{ stream_id: string; expected: number; found: number; position: number }>;
  /** Executions that started and have neither finished nor been marked lost. */
  unfinished_executions: string[];
  /** Executions marked lost (their runner died mid-run): accounted for, not a fault. */
  lost_executions: number;
  ok: boolean;
}

/**
 * Checks a log read in position order: positions contiguous, versions contiguous per stream,
 * every ExecutionStarted followed by its ExecutionFinished or an ExecutionLost marker.
 * Pure: feed it pages as they come.
 */
export class IntegrityCheck {
  private expectedPosition = 1;
  private readonly versions = new Map<string, number>();
  private readonly started = new Set<string>();
  private readonly report: IntegrityReport = {
    events: 0,
    head: 0,
    position_gaps: [],
    version_breaks: [],
    unfinished_executions: [],
    lost_executions: 0,
    ok: true,
  };

  add(e: EventEnvelope): void {
    this.report.events++;
    for (; this.expectedPosition < e.position; this.expectedPosition++) {
      if (this.report.position_gaps.length < 1000) this.report.position_gaps.push(this.expectedPosition);
    }
    this.expectedPosition = e.position + 1;
    this.report.head = e.position;
    const expected = (this.versions.get(e.stream_id) ?? 0) + 1;
    if (e.version !== expected && this.report.version_breaks.length < 1000) {
      this.report.version_breaks.push({
        stream_id: e.stream_id,
        expected,
        found: e.version,
        position: e.position,
      });
    }
    this.versions.set(e.stream_id, e.version);
    if (e.type === 'ExecutionStarted') this.started.add(e.stream_id);
    if (e.type === 'ExecutionFinished') this.started.delete(e.stream_id);
    if (e.type === 'ExecutionLost') {
      this.started.delete(e.stream_id);
      this.report.lost_executions++;
    }
  }

  finish(): IntegrityReport {
    this.report.unfinished_executions = [...this.started].slice(0, 1000);
    this.report.ok =
      this.report.position_gaps.length === 0 &&
      this.report.version_breaks.length === 0 &&
      this.report.unfinished_executions.length === 0;
    return this.report;
  }
}
