import { ErrorCodes, type DomainEvent, type ErrorCode, type SessionStatus } from '@executor/contracts';

/** The Session aggregate's state, built from its events only. */
export interface SessionState {
  exists: boolean;
  session_id: string;
  tenant_id: string;
  scope: string;
  template: string;
  ttl_s: number;
  metadata: Record<string, string>;
  runner_id: string;
  status: SessionStatus;
  created_at: string;
  last_used_at: string;
  executions: number;
  /** The absolute end of its life (ISO), if it has one. */
  deadline_at?: string;
  expired_reason?: 'idle' | 'deadline';
  /** Stream version: the number of events applied. */
  version: number;
}

export const initialState: SessionState = {
  exists: false,
  session_id: '',
  tenant_id: '',
  scope: '',
  template: '',
  ttl_s: 0,
  metadata: {},
  runner_id: '',
  status: 'active',
  created_at: '',
  last_used_at: '',
  executions: 0,
  version: 0,
};

export type SessionCommand =
  | {
      type: 'CreateSession';
      session_id: string;
      tenant_id: string;
      scope: string;
      template: string;
      ttl_s: number;
      metadata: Record<string, string>;
      runner_id: string;
      deadline_at?: string;
    }
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

/** A command that the state refuses. */
export class SessionRejected extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** When the session ends if nothing more happens: idle past its ttl, or its deadline. */
export function expiresAt(state: SessionState): Date {
  const idle = new Date(state.last_used_at).getTime() + state.ttl_s * 1000;
  return new Date(state.deadline_at ? Math.min(idle, new Date(state.deadline_at).getTime()) : idle);
}

export function isPastDeadline(state: SessionState, now: Date): boolean {
  return state.deadline_at !== undefined && now.getTime() >= new Date(state.deadline_at).getTime();
}

export function isExpired(state: SessionState, now: Date): boolean {
  return now.getTime() >= expiresAt(state).getTime();
}

/** Refuses commands on a session that is not live, with the code that says why. */
export function requireLive(state: SessionState, now?: Date): void {
  if (!state.exists) throw new SessionRejected(ErrorCodes.SessionNotFound, 'no such session');
  switch (state.status) {
    case 'active':
      if (now && isPastDeadline(state, now)) {
        throw new SessionRejected(ErrorCodes.SessionExpired, 'the session reached the end of its lifetime');
      }
      if (now && isExpired(state, now)) {
        throw new SessionRejected(
          ErrorCodes.SessionExpired,
          'the session expired after being idle for its ttl',
        );
      }
      return;
    case 'expired':
      throw new SessionRejected(
        ErrorCodes.SessionExpired,
        state.expired_reason === 'deadline'
          ? 'the session reached the end of its lifetime'
          : 'the session expired after being idle for its ttl',
      );
    case 'destroyed':
      throw new SessionRejected(ErrorCodes.SessionDestroyed, 'the session was destroyed');
    case 'lost':
      throw new SessionRejected(ErrorCodes.SessionLost, 'the session was lost: its sandbox is gone');
    default: {
      const _never: never = state.status;
      return _never;
    }
  }
}

/** Pure: what happens when `command` meets `state`. */
export function decide(command: SessionCommand, state: SessionState): DomainEvent[] {
  switch (command.type) {
    case 'CreateSession': {
      if (state.exists)
        throw new SessionRejected(ErrorCodes.ConcurrencyConflict, 'the session exists already');
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
      if (!state.exists || state.status !== 'active') return [];
      return [{ type: 'SessionLost', data: { session_id: state.session_id, reason: command.reason } }];
    default: {
      const _never: never = command;
      return _never;
    }
  }
}

/** Pure: the state after `event`, which happened at `at` (the event's occurred_at). */
export function evolve(state: SessionState, event: DomainEvent, at: string): SessionState {
  const next = { ...state, version: state.version + 1 };
  switch (event.type) {
    case 'SessionCreated':
      return {
        ...next,
        exists: true,
        ...event.data,
        status: 'active',
        created_at: at,
        last_used_at: at,
        executions: 0,
      };
    case 'SessionReused':
      return { ...next, last_used_at: at };
    case 'SessionDeadlineMoved':
      return { ...next, deadline_at: event.data.deadline_at, ttl_s: event.data.ttl_s, last_used_at: at };
    case 'SessionExecuted':
      return { ...next, last_used_at: at, executions: state.executions + 1 };
    case 'SessionExpired':
      return { ...next, status: 'expired', expired_reason: event.data.reason ?? 'idle' };
    case 'SessionDestroyed':
      return { ...next, status: 'destroyed' };
    case 'SessionLost':
      return { ...next, status: 'lost' };
    default:
      // Events of other aggregates never reach a session stream.
      return next;
  }
}
