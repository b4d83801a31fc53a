import {
  CommandRejected,
  ErrorCodes,
  exhaustive,
  type Decider,
  type DomainEvent,
  type EventContext,
  type EventDataMap,
} from '@executor/contracts';

type Created = EventDataMap['SessionCreated'];

/**
 * What every session that exists has: its SessionCreated's facts (`deadline_at`, the absolute
 * end of its life, if it has one) and what the events after it changed.
 */
type SessionFacts = Created & {
  created_at: string;
  last_used_at: string;
  executions: number;
};

/** The Session aggregate's state, built from its events only: a union keyed on status. */
export type SessionState =
  | { status: 'none' }
  | (SessionFacts & { status: 'active' })
  | (SessionFacts & { status: 'expired'; expired_reason: 'idle' | 'deadline' })
  | (SessionFacts & { status: 'destroyed' })
  | (SessionFacts & { status: 'lost' });

/** A session that was created, whatever became of it. */
export type Session = Exclude<SessionState, { status: 'none' }>;
export type ActiveSession = Extract<SessionState, { status: 'active' }>;

export const initialState: SessionState = { status: 'none' };

export type SessionCommand =
  | ({ type: 'CreateSession' } & Created)
  | { type: 'ReuseSession'; now: Date }
  | { type: 'MoveDeadline'; now: Date; lifetime_s: number }
  | {
      type: 'RecordExecution';
      now: Date;
      result: Omit<Extract<DomainEvent, { type: 'SessionExecuted' }>['data'], 'session_id'>;
    }
  | { type: 'ExpireSession'; now: Date }
  | { type: 'DestroySession'; now: Date }
  | { type: 'MarkSessionLost'; reason: string };

/** When the session ends if nothing more happens: idle past its ttl, or its deadline. */
export function expiresAt(state: SessionFacts): Date {
  const idle = new Date(state.last_used_at).getTime() + state.ttl_s * 1000;
  return new Date(state.deadline_at ? Math.min(idle, new Date(state.deadline_at).getTime()) : idle);
}

export function isPastDeadline(state: SessionFacts, now: Date): boolean {
  return state.deadline_at !== undefined && now.getTime() >= new Date(state.deadline_at).getTime();
}

export function isExpired(state: SessionFacts, now: Date): boolean {
  return now.getTime() >= expiresAt(state).getTime();
}

/** Refuses commands on a session that is not live, with the code that says why. */
export function requireLive(state: SessionState, now?: Date): asserts state is ActiveSession {
  switch (state.status) {
    case 'none':
      throw new CommandRejected(ErrorCodes.SessionNotFound, 'no such session');
    case 'active':
      if (now && isPastDeadline(state, now)) {
        throw new CommandRejected(ErrorCodes.SessionExpired, 'the session reached the end of its lifetime');
      }
      if (now && isExpired(state, now)) {
        throw new CommandRejected(
          ErrorCodes.SessionExpired,
          'the session expired after being idle for its ttl',
        );
      }
      return;
    case 'expired':
      throw new CommandRejected(
        ErrorCodes.SessionExpired,
        state.expired_reason === 'deadline'
          ? 'the session reached the end of its lifetime'
          : 'the session expired after being idle for its ttl',
      );
    case 'destroyed':
      throw new CommandRejected(ErrorCodes.SessionDestroyed, 'the session was destroyed');
    case 'lost':
      throw new CommandRejected(ErrorCodes.SessionLost, 'the session was lost: its sandbox is gone');
    default:
      return exhaustive(state);
  }
}

/** Pure: what happens when `command` meets `state`. */
function decide(command: SessionCommand, state: SessionState): DomainEvent[] {
  switch (command.type) {
    case 'CreateSession': {
      if (state.status !== 'none')
        throw new CommandRejected(ErrorCodes.ConcurrencyConflict, 'the session exists already');
      const { type: _t, ...data } = command;
      return [{ type: 'SessionCreated', data }];
    }
    case 'ReuseSession':
      requireLive(state, command.now);
      return [{ type: 'SessionReused', data: { session_id: state.session_id } }];
    case 'MoveDeadline': {
      requireLive(state, command.now);
      const deadline = new Date(command.now.getTime() + command.lifetime_s * 1000).toISOString();
      const ttl = Math.max(state.ttl_s, command.lifetime_s);
      return [
        {
          type: 'SessionDeadlineMoved',
          data: { session_id: state.session_id, deadline_at: deadline, ttl_s: ttl },
        },
      ];
    }
    case 'RecordExecution':
      // A run that started on a live session is recorded even if its ttl ran out meanwhile.
      requireLive(state);
      return [{ type: 'SessionExecuted', data: { session_id: state.session_id, ...command.result } }];
    case 'ExpireSession': {
      requireLive(state);
      if (!isExpired(state, command.now)) return [];
      const idle = Math.round((command.now.getTime() - new Date(state.last_used_at).getTime()) / 1000);
      const reason = isPastDeadline(state, command.now) ? 'deadline' : 'idle';
      return [{ type: 'SessionExpired', data: { session_id: state.session_id, idle_s: idle, reason } }];
    }
    case 'DestroySession':
      requireLive(state);
      return [{ type: 'SessionDestroyed', data: { session_id: state.session_id } }];
    case 'MarkSessionLost':
      if (state.status !== 'active') return [];
      return [{ type: 'SessionLost', data: { session_id: state.session_id, reason: command.reason } }];
    default:
      return exhaustive(command);
  }
}

/** Pure: the state after `event`, which happened at its context's occurred_at. */
function evolve(state: SessionState, event: DomainEvent, { occurred_at: at }: EventContext): SessionState {
  if (event.type === 'SessionCreated') {
    return { ...event.data, status: 'active', created_at: at, last_used_at: at, executions: 0 };
  }
  // Every later event follows a SessionCreated; events of other aggregates never reach a session stream.
  if (state.status === 'none') return state;
  switch (event.type) {
    case 'SessionReused':
      return { ...state, last_used_at: at };
    case 'SessionDeadlineMoved':
      return { ...state, deadline_at: event.data.deadline_at, ttl_s: event.data.ttl_s, last_used_at: at };
    case 'SessionExecuted':
      return { ...state, last_used_at: at, executions: state.executions + 1 };
    case 'SessionExpired':
      return { ...state, status: 'expired', expired_reason: event.data.reason ?? 'idle' };
    case 'SessionDestroyed':
      return { ...state, status: 'destroyed' };
    case 'SessionLost':
      return { ...state, status: 'lost' };
    default:
      return state;
  }
}

/** The Session aggregate's rules: pure, time comes in with the command or the event. */
export const SessionDecider: Decider<SessionState, SessionCommand> = { initialState, decide, evolve };
