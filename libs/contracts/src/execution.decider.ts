import { CommandRejected, exhaustive, type Decider } from './decider';
import { ErrorCodes } from './errors';
import type { DomainEvent, EventDataMap } from './events';

type Started = EventDataMap['ExecutionStarted'];
type Finished = EventDataMap['ExecutionFinished'];
type LostReason = EventDataMap['ExecutionLost']['reason'];

/**
 * The Execution aggregate (one stream per one-off run, `execution-<id>`): started by the
 * runner that runs it, ended once, by that runner's ExecutionFinished or by the
 * session-service's ExecutionLost when the runner can no longer answer. The first end stands.
 */
export type ExecutionState =
  | { status: 'none' }
  | { status: 'started'; started: Started }
  | { status: 'finished'; started: Started }
  | { status: 'lost'; started: Started; reason: LostReason };

/** What a run produced, as the runner measured it. */
export type ExecutionOutcome = Omit<Finished, 'execution_id' | 'sandbox_error'>;

/** The outcome of a run that hit no limit and sent nothing back (no output, no artifacts). */
export const NOTHING_MEASURED = {
  timed_out: false,
  oom_killed: false,
  truncated: false,
  stdout_bytes: 0,
  stderr_bytes: 0,
  artifacts_count: 0,
} as const satisfies Partial<ExecutionOutcome>;

export type ExecutionCommand =
  | ({ type: 'StartExecution' } & Started)
  | { type: 'FinishExecution'; outcome: ExecutionOutcome }
  /** The sandbox failed (not the user's code): the run ends as an error with nothing measured. */
  | { type: 'FailExecution'; sandbox_error: string }
  | { type: 'MarkExecutionLost'; reason: LostReason };

export type ExecutionEvent = Extract<
  DomainEvent,
  { type: 'ExecutionStarted' | 'ExecutionFinished' | 'ExecutionLost' }
>;

export const executionStream = (executionId: string) => `execution-${executionId}`;

const initialState: ExecutionState = { status: 'none' };

/** An end (finish, failure, lost) of a started run; none for a run that ended already. */
function end(state: ExecutionState, event: (started: Started) => ExecutionEvent): ExecutionEvent[] {
  switch (state.status) {
    case 'none':
      throw new CommandRejected(ErrorCodes.NotFound, 'the execution has not started');
    case 'started':
      return [event(state.started)];
    case 'finished':
    case 'lost':
      return [];
    default:
      return exhaustive(state);
  }
}

function decide(command: ExecutionCommand, state: ExecutionState): ExecutionEvent[] {
  switch (command.type) {
    case 'StartExecution': {
      if (state.status !== 'none') {
        throw new CommandRejected(
          ErrorCodes.ConcurrencyConflict,
          `execution ${command.execution_id} has started already`,
        );
      }
      // Spelled out, so the stored data has the same fields in the same order whoever asks.
      const data: Started = {
        execution_id: command.execution_id,
        tenant_id: command.tenant_id,
        scope: command.scope,
        template: command.template,
        language: command.language,
        runner_id: command.runner_id,
        code_bytes: command.code_bytes,
        code_sha256: command.code_sha256,
        files_count: command.files_count,
        files_bytes: command.files_bytes,
        timeout_s: command.timeout_s,
      };
      return [{ type: 'ExecutionStarted', data }];
    }
    case 'FinishExecution': {
      const o = command.outcome;
      return end(state, (started) => ({
        type: 'ExecutionFinished',
        data: {
          execution_id: started.execution_id,
          status: o.status,
          exit_code: o.exit_code,
          duration_ms: o.duration_ms,
          timed_out: o.timed_out,
          oom_killed: o.oom_killed,
          truncated: o.truncated,
          stdout_bytes: o.stdout_bytes,
          stderr_bytes: o.stderr_bytes,
          artifacts_count: o.artifacts_count,
        },
      }));
    }
    case 'FailExecution':
      return end(state, (started) => ({
        type: 'ExecutionFinished',
        data: {
          execution_id: started.execution_id,
          status: 'error',
          exit_code: -1,
          duration_ms: 0,
          ...NOTHING_MEASURED,
          sandbox_error: command.sandbox_error,
        },
      }));
    case 'MarkExecutionLost':
      return end(state, (started) => ({
        type: 'ExecutionLost',
        data: { execution_id: started.execution_id, runner_id: started.runner_id, reason: command.reason },
      }));
    default:
      return exhaustive(command);
  }
}

function evolve(state: ExecutionState, event: ExecutionEvent): ExecutionState {
  switch (event.type) {
    case 'ExecutionStarted':
      return { status: 'started', started: event.data };
    case 'ExecutionFinished':
      return state.status === 'none' ? state : { status: 'finished', started: state.started };
    case 'ExecutionLost':
      return state.status === 'none'
        ? state
        : { status: 'lost', started: state.started, reason: event.data.reason };
    default:
      return exhaustive(event);
  }
}

/** Pure rules of the Execution stream, shared by the runner (start, end) and the session-service (lost). */
export const ExecutionDecider: Decider<ExecutionState, ExecutionCommand, ExecutionEvent> = {
  initialState,
  decide,
  evolve,
};
