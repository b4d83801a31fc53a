import type { DomainEvent } from './events';
import { ExecutionDecider, type ExecutionCommand, type ExecutionState } from './execution.decider';
import { executionOutcome, executionStarted, rejectionCode } from './testing/deciders';

const { decide, evolve, initialState } = ExecutionDecider;
const context = { occurred_at: '2026-01-01T00:00:00.000Z', tenant_id: 't1' };

/** Given events, when a command, then events or a rejection code. */
function given(...events: DomainEvent[]): ExecutionState {
  return events.reduce((s, e) => evolve(s, e as Parameters<typeof evolve>[1], context), initialState);
}

const rejection = (command: ExecutionCommand, state: ExecutionState) =>
  rejectionCode(ExecutionDecider, command, state);

const startedData = executionStarted({ scope: 'chat' });
const started: DomainEvent = { type: 'ExecutionStarted', data: startedData };
const outcome = executionOutcome({ duration_ms: 12, stdout_bytes: 3, artifacts_count: 1 });
const finished: DomainEvent = { type: 'ExecutionFinished', data: { execution_id: 'e1', ...outcome } };
const lost: DomainEvent = {
  type: 'ExecutionLost',
  data: { execution_id: 'e1', runner_id: 'r1', reason: 'runner_silent' },
};

describe('Execution decider', () => {
  it('starts an execution from nothing, with its facts in their stored order', () => {
    // A caller's own key order does not reach the store.
    const reordered = Object.fromEntries(Object.entries(startedData).reverse()) as typeof startedData;
    const events = decide({ type: 'StartExecution', ...reordered }, initialState);
    expect(events).toEqual([started]);
    expect(JSON.stringify(events[0].data)).toBe(JSON.stringify(startedData));
    expect(given(started)).toEqual({ status: 'started', started: startedData });
  });

  it('refuses to start an execution twice', () => {
    expect(rejection({ type: 'StartExecution', ...startedData }, given(started))).toBe(
      'CONCURRENCY_CONFLICT',
    );
    expect(rejection({ type: 'StartExecution', ...startedData }, given(started, finished))).toBe(
      'CONCURRENCY_CONFLICT',
    );
  });

  it('finishes a started execution with what the runner measured', () => {
    const events = decide({ type: 'FinishExecution', outcome }, given(started));
    expect(events).toEqual([finished]);
    expect(JSON.stringify(events[0].data)).toBe(JSON.stringify(finished.data));
    expect(given(started, finished).status).toBe('finished');
  });

  it('records a sandbox failure as an error with nothing measured', () => {
    expect(decide({ type: 'FailExecution', sandbox_error: 'image_missing' }, given(started))).toEqual([
      {
        type: 'ExecutionFinished',
        data: {
          execution_id: 'e1',
          ...executionOutcome({ status: 'error', exit_code: -1, duration_ms: 0 }),
          sandbox_error: 'image_missing',
        },
      },
    ]);
  });

  it('marks a started execution lost on the runner that started it', () => {
    expect(decide({ type: 'MarkExecutionLost', reason: 'runner_silent' }, given(started))).toEqual([lost]);
    expect(given(started, lost)).toEqual({ status: 'lost', started: startedData, reason: 'runner_silent' });
  });

  it('ends an execution once: the first end stands and a later one records nothing', () => {
    const ended = [given(started, finished), given(started, lost)];
    for (const state of ended) {
      expect(decide({ type: 'FinishExecution', outcome }, state)).toEqual([]);
      expect(decide({ type: 'FailExecution', sandbox_error: 'sandbox_failed' }, state)).toEqual([]);
      expect(decide({ type: 'MarkExecutionLost', reason: 'unfinished' }, state)).toEqual([]);
    }
  });

  it('refuses to end an execution that never started', () => {
    expect(rejection({ type: 'FinishExecution', outcome }, initialState)).toBe('NOT_FOUND');
    expect(rejection({ type: 'MarkExecutionLost', reason: 'unfinished' }, initialState)).toBe('NOT_FOUND');
  });
});
