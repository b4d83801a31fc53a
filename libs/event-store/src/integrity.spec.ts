import type { EventEnvelope, EventType } from '@executor/contracts';
import { IntegrityCheck } from './integrity';

const e = (
  position: number,
  stream_id: string,
  version: number,
  type: EventType = 'SessionExecuted',
): EventEnvelope => ({ position, stream_id, version, type }) as EventEnvelope;

describe('IntegrityCheck', () => {
  it('passes a contiguous log whose executions all finished', () => {
    const c = new IntegrityCheck();
    [
      e(1, 'execution-a', 1, 'ExecutionStarted'),
      e(2, 'session-s', 1),
      e(3, 'execution-a', 2, 'ExecutionFinished'),
    ].forEach((x) => c.add(x));
    expect(c.finish()).toMatchObject({ ok: true, events: 3, head: 3 });
  });

  it('names position gaps, version breaks and unfinished executions', () => {
    const c = new IntegrityCheck();
    [e(1, 's', 1), e(2, 's', 3), e(5, 'execution-b', 1, 'ExecutionStarted')].forEach((x) => c.add(x));
    const r = c.finish();
    expect(r.ok).toBe(false);
    expect(r.position_gaps).toEqual([3, 4]);
    expect(r.version_breaks).toEqual([{ stream_id: 's', expected: 2, found: 3, position: 2 }]);
    expect(r.unfinished_executions).toEqual(['execution-b']);
  });

  it('accepts a lost marker in place of the finish, and counts it', () => {
    const c = new IntegrityCheck();
    [e(1, 'execution-c', 1, 'ExecutionStarted'), e(2, 'execution-c', 2, 'ExecutionLost')].forEach((x) =>
      c.add(x),
    );
    expect(c.finish()).toMatchObject({ ok: true, unfinished_executions: [], lost_executions: 1 });
  });
});
