import type { DomainEvent } from '@executor/contracts';
import { rejectionCode } from '@executor/contracts/testing/deciders';
import {
  expiresAt,
  initialState,
  SessionDecider,
  type Session,
  type SessionCommand,
  type SessionState,
} from './session.decider';

const { decide, evolve } = SessionDecider;

const T0 = '2026-01-01T00:00:00.000Z';
const at = (s: number) => new Date(Date.parse(T0) + s * 1000);

/** Given events (each at a second offset), when a command, then events or a rejection code. */
function given(...events: Array<[DomainEvent, number]>): SessionState {
  return events.reduce(
    (s, [e, sec]) => evolve(s, e, { occurred_at: at(sec).toISOString(), tenant_id: 't1' }),
    initialState,
  );
}

/** The state of a session that exists. */
function existing(state: SessionState): Session {
  if (state.status === 'none') throw new Error('no session');
  return state;
}

const created: DomainEvent = {
  type: 'SessionCreated',
  data: {
    session_id: 's1',
    tenant_id: 't1',
    scope: 'chat',
    template: 'default',
    ttl_s: 60,
    metadata: {},
    runner_id: 'r1',
  },
};

const executedData = (status: 'success' | 'error' = 'success') => ({
  session_id: 's1',
  execution_id: 'e1',
  language: 'python',
  code_bytes: 5,
  code_sha256: 'h',
  status,
  exit_code: status === 'success' ? 0 : 1,
  duration_ms: 3,
  timed_out: false,
  oom_killed: false,
  truncated: false,
  state_lost: false,
});

const executed = (status: 'success' | 'error' = 'success'): DomainEvent => ({
  type: 'SessionExecuted',
  data: executedData(status),
});

const rejection = (cmd: SessionCommand, state: SessionState) => rejectionCode(SessionDecider, cmd, state);

describe('Session decider', () => {
  it('creates a session from nothing', () => {
    const [event] = decide({ type: 'CreateSession', ...created.data }, initialState);
    expect(event).toEqual(created);
    const state = existing(evolve(initialState, event, { occurred_at: T0, tenant_id: 't1' }));
    expect(state).toEqual({
      ...created.data,
      status: 'active',
      created_at: T0,
      last_used_at: T0,
      executions: 0,
    });
    expect(expiresAt(state).toISOString()).toBe(at(60).toISOString());
  });

  it('is a union keyed on status: nothing before its SessionCreated, its facts and the reason once ended', () => {
    expect(initialState).toEqual({ status: 'none' });
    expect(given([{ type: 'SessionReused', data: { session_id: 's1' } }, 0])).toEqual({ status: 'none' });
    const expired = given(
      [created, 0],
      [{ type: 'SessionExpired', data: { session_id: 's1', idle_s: 61, reason: 'deadline' } }, 61],
    );
    expect(expired).toMatchObject({
      status: 'expired',
      expired_reason: 'deadline',
      session_id: 's1',
      runner_id: 'r1',
    });
  });

  it('refuses to create a session twice', () => {
    expect(rejection({ type: 'CreateSession', ...created.data }, given([created, 0]))).toBe(
      'CONCURRENCY_CONFLICT',
    );
  });

  it('records executions and slides the ttl', () => {
    const state = existing(given([created, 0], [executed(), 50]));
    expect(state.executions).toBe(1);
    expect(expiresAt(state).toISOString()).toBe(at(110).toISOString());
    const events = decide({ type: 'RecordExecution', now: at(100), result: executedData('error') }, state);
    expect(events.map((e) => e.type)).toEqual(['SessionExecuted']);
  });

  it('reuses a live session and refuses to reuse an idle one past its ttl', () => {
    expect(decide({ type: 'ReuseSession', now: at(30) }, given([created, 0]))).toEqual([
      { type: 'SessionReused', data: { session_id: 's1' } },
    ]);
    expect(rejection({ type: 'ReuseSession', now: at(61) }, given([created, 0]))).toBe('SESSION_EXPIRED');
  });

  it('expires only once the ttl has passed since the last use', () => {
    const state = given([created, 0], [executed(), 30]);
    expect(decide({ type: 'ExpireSession', now: at(60) }, state)).toEqual([]);
    expect(decide({ type: 'ExpireSession', now: at(95) }, state)).toEqual([
      { type: 'SessionExpired', data: { session_id: 's1', idle_s: 65, reason: 'idle' } },
    ]);
  });

  it('refuses everything but reads on an ended session, with the reason', () => {
    const expired = given(
      [created, 0],
      [{ type: 'SessionExpired', data: { session_id: 's1', idle_s: 61 } }, 61],
    );
    const destroyed = given([created, 0], [{ type: 'SessionDestroyed', data: { session_id: 's1' } }, 1]);
    const lost = given(
      [created, 0],
      [{ type: 'SessionLost', data: { session_id: 's1', reason: 'runner restarted' } }, 1],
    );
    expect(rejection({ type: 'DestroySession', now: at(70) }, expired)).toBe('SESSION_EXPIRED');
    expect(rejection({ type: 'ReuseSession', now: at(2) }, destroyed)).toBe('SESSION_DESTROYED');
    expect(rejection({ type: 'RecordExecution', now: at(2), result: executedData() }, lost)).toBe(
      'SESSION_LOST',
    );
    expect(rejection({ type: 'DestroySession', now: at(2) }, initialState)).toBe('SESSION_NOT_FOUND');
  });

  it('marks a live session lost once; an ended one stays as it is', () => {
    const live = given([created, 0]);
    expect(decide({ type: 'MarkSessionLost', reason: 'x' }, live)).toHaveLength(1);
    const destroyed = given([created, 0], [{ type: 'SessionDestroyed', data: { session_id: 's1' } }, 1]);
    expect(decide({ type: 'MarkSessionLost', reason: 'x' }, destroyed)).toEqual([]);
  });

  it('a deadline ends a session that is never idle, and says why', () => {
    const withDeadline: DomainEvent = {
      type: 'SessionCreated',
      data: { ...(created.data as object), deadline_at: at(100).toISOString() } as never,
    };
    // Used every 30 s: never idle past its 60 s ttl, yet over at 100 s.
    const busy = existing(given([withDeadline, 0], [executed(), 30], [executed(), 60], [executed(), 90]));
    expect(expiresAt(busy).toISOString()).toBe(at(100).toISOString());
    expect(decide({ type: 'ExpireSession', now: at(99) }, busy)).toEqual([]);
    const events = decide({ type: 'ExpireSession', now: at(100) }, busy);
    expect(events).toEqual([
      { type: 'SessionExpired', data: { session_id: 's1', idle_s: 10, reason: 'deadline' } },
    ]);
    expect(rejection({ type: 'ReuseSession', now: at(100) }, busy)).toBe('SESSION_EXPIRED');
  });

  it('moves a deadline (E2B setTimeout) from now, the idle ttl at least as long, on live sessions only', () => {
    const withDeadline: DomainEvent = {
      type: 'SessionCreated',
      data: { ...(created.data as object), deadline_at: at(60).toISOString() } as never,
    };
    const live = given([withDeadline, 0]);
    const events = decide({ type: 'MoveDeadline', now: at(30), lifetime_s: 120 }, live);
    expect(events).toEqual([
      {
        type: 'SessionDeadlineMoved',
        data: { session_id: 's1', deadline_at: at(150).toISOString(), ttl_s: 120 },
      },
    ]);
    const moved = given([withDeadline, 0], [events[0], 30]);
    // Idle since 30 s with a 120 s ttl, deadline at 150 s: the deadline comes first.
    if (moved.status !== 'active') throw new Error('the session should be active');
    expect(expiresAt(moved).toISOString()).toBe(at(150).toISOString());
    // Shortened: the ttl is kept, the deadline is sooner.
    const shorter = decide({ type: 'MoveDeadline', now: at(40), lifetime_s: 10 }, moved);
    expect(shorter[0].data).toMatchObject({ deadline_at: at(50).toISOString(), ttl_s: 120 });
    expect(rejection({ type: 'MoveDeadline', now: at(61), lifetime_s: 10 }, live)).toBe('SESSION_EXPIRED');
    const destroyed = given([created, 0], [{ type: 'SessionDestroyed', data: { session_id: 's1' } }, 1]);
    expect(rejection({ type: 'MoveDeadline', now: at(2), lifetime_s: 10 }, destroyed)).toBe(
      'SESSION_DESTROYED',
    );
  });
});
