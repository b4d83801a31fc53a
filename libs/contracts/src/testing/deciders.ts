import { CommandRejected, type Decider } from '../decider';
import type { EventDataMap } from '../events';
import { NOTHING_MEASURED, type ExecutionOutcome } from '../execution.decider';
import type { RunnerHeartbeat } from '../health';

/**
 * Given/when/then for a decider's tests: the code of the CommandRejected that `decide` throws
 * for `command` in `state`. A command the state accepts fails the test.
 */
export function rejectionCode<State, Command>(
  decider: Pick<Decider<State, Command>, 'decide'>,
  command: Command,
  state: State,
): string {
  try {
    decider.decide(command, state);
  } catch (e) {
    if (e instanceof CommandRejected) return e.code;
    throw e;
  }
  throw new Error('not rejected');
}

/** An ExecutionStarted's facts, in their stored order, with what a test changes. */
export function executionStarted(
  overrides: Partial<EventDataMap['ExecutionStarted']> = {},
): EventDataMap['ExecutionStarted'] {
  return {
    execution_id: 'e1',
    tenant_id: 't1',
    scope: 's',
    template: 'default',
    language: 'python',
    runner_id: 'r1',
    code_bytes: 5,
    code_sha256: 'h',
    files_count: 0,
    files_bytes: 0,
    timeout_s: 30,
    ...overrides,
  };
}

/** What a runner measured of a successful run that printed and wrote nothing, with a test's changes. */
export function executionOutcome(overrides: Partial<ExecutionOutcome> = {}): ExecutionOutcome {
  return {
    status: 'success',
    exit_code: 0,
    duration_ms: 1,
    ...NOTHING_MEASURED,
    ...overrides,
  };
}

/** A heartbeat of an idle runner with room for 4 runs and 8 queued, with a test's changes. */
export function runnerHeartbeat(
  overrides: Partial<RunnerHeartbeat> & Pick<RunnerHeartbeat, 'runner_id'>,
): RunnerHeartbeat {
  return {
    instance_id: 'i1',
    capacity: 4,
    queue_limit: 8,
    running: 0,
    queued: 0,
    sessions: 0,
    draining: false,
    interval_ms: 1000,
    sent_at: new Date(0).toISOString(),
    ...overrides,
  };
}
