import type { EventEnvelope, EventType, RunnerHeartbeat } from '@executor/contracts';
import { runnerHeartbeat } from '@executor/contracts/testing/deciders';
import { ExecutionLedger } from './execution-ledger';
import { RunnerLiveness } from './runner-liveness';
import { Placements } from './placements';
import { byLoad } from './runner-watch';

const hb = (runner_id: string, instance_id = 'i1') => runnerHeartbeat({ runner_id, instance_id });

let position = 0;
const ev = (type: EventType, data: object, atMs: number, stream = 'execution-x'): EventEnvelope =>
  ({
    type,
    data,
    position: ++position,
    stream_id: stream,
    version: 1,
    occurred_at: new Date(atMs).toISOString(),
  }) as EventEnvelope;

describe('RunnerLiveness', () => {
  it('reports a runner gone after its missed beats, once', () => {
    const l = new RunnerLiveness(3);
    l.connected(0);
    l.beat(hb('a'), 1000);
    l.beat(hb('b'), 1000);
    l.beat(hb('b'), 3500);
    expect(l.takeGone(3900)).toEqual([]);
    expect(l.takeGone(4100).map((r) => r.runner_id)).toEqual(['a']);
    expect(l.takeGone(4200)).toEqual([]);
    expect(l.alive().map((r) => r.runner_id)).toEqual(['b']);
  });

  it('does not count silence while its own connection was down', () => {
    const l = new RunnerLiveness(3);
    l.beat(hb('a'), 1000);
    l.connected(10000); // reconnected after an outage: a's silence before now proves nothing
    expect(l.takeGone(12000)).toEqual([]);
    expect(l.takeGone(13100).map((r) => r.runner_id)).toEqual(['a']);
  });

  it('watches a runner known only from the log, and takes it for gone if it never beats', () => {
    const l = new RunnerLiveness(3);
    l.connected(0);
    l.expect('quiet', 1000);
    l.expect('talks', 1000);
    l.beat(hb('talks'), 2000);
    expect(l.alive().map((r) => r.runner_id)).toEqual(['talks']);
    expect(l.takeGone(4100).map((r) => r.runner_id)).toEqual(['quiet']);
  });

  it('says when a runner came back as a new process', () => {
    const l = new RunnerLiveness();
    expect(l.beat(hb('a', 'i1'), 0)).toBe(false);
    expect(l.beat(hb('a', 'i1'), 1)).toBe(false);
    expect(l.beat(hb('a', 'i2'), 2)).toBe(true);
  });
});

describe('ExecutionLedger', () => {
  const started = (id: string, runner: string, atMs: number, timeout_s = 10) =>
    ev('ExecutionStarted', { execution_id: id, runner_id: runner, timeout_s }, atMs, `execution-${id}`);

  it('keeps only executions that have not ended', () => {
    const l = new ExecutionLedger(5000);
    [
      started('1', 'r1', 0),
      started('2', 'r1', 0),
      started('3', 'r2', 0),
      ev('ExecutionFinished', { execution_id: '1' }, 10),
      ev('ExecutionLost', { execution_id: '3' }, 10),
    ].forEach((e) => l.apply(e));
    expect(l.size).toBe(1);
    expect(l.runnerOf('2')).toBe('r1');
  });

  it("names a runner's executions that started before it restarted", () => {
    const l = new ExecutionLedger(5000);
    l.apply(started('a', 'r1', 1000));
    l.apply(started('b', 'r2', 1000));
    const { restarted } = l.apply(ev('RunnerStarted', { runner_id: 'r1' }, 2000, 'runner-r1'));
    expect(restarted).toEqual({ runner_id: 'r1', at_ms: 2000 });
    l.apply(started('c', 'r1', 3000));
    expect(l.ofRunner('r1', 2000).map((x) => x.execution_id)).toEqual(['a']);
  });

  it('finds executions older than their timeout and the overhead', () => {
    const l = new ExecutionLedger(5000);
    l.apply(started('a', 'r1', 0, 10));
    l.apply(started('b', 'r1', 0, 60));
    expect(l.overdue(15000)).toEqual([]);
    expect(l.overdue(15001).map((x) => x.execution_id)).toEqual(['a']);
  });

  it('applies each position once', () => {
    const l = new ExecutionLedger(5000);
    const e = started('a', 'r1', 0);
    l.apply(e);
    l.apply(ev('ExecutionFinished', { execution_id: 'a' }, 1));
    l.apply(e);
    expect(l.size).toBe(0);
  });
});

describe('byLoad (where a new session goes)', () => {
  const view = (id: string, load: Partial<RunnerHeartbeat>) => ({ ...hb(id), ...load, last_seen_ms: 0 });

  it('puts the least loaded runner for its capacity first and leaves draining ones out', () => {
    const order = byLoad([
      view('big-busy', { capacity: 16, running: 8 }), // 0.5
      view('small-idle', { capacity: 4, sessions: 1 }), // 0.25
      view('draining', { draining: true }),
      view('small-busy', { capacity: 4, running: 3, queued: 1 }), // 1
    ]).map((r) => r.runner_id);
    expect(order).toEqual(['small-idle', 'big-busy', 'small-busy']);
  });

  it('breaks ties by fewer sessions, then by id', () => {
    const order = byLoad([
      view('b', { capacity: 8, running: 2 }),
      view('a', { capacity: 8, running: 2 }),
      view('c', { capacity: 4, sessions: 1 }),
    ]).map((r) => r.runner_id);
    expect(order).toEqual(['a', 'b', 'c']);
  });
});

describe('Placements (sessions a heartbeat does not count yet)', () => {
  it('counts an open in flight and one answered after the last heartbeat, until a later heartbeat', () => {
    const p = new Placements();
    const first = p.start('a');
    expect(p.pending('a')).toBe(1);
    p.beat('a', 1000); // sent before the open was answered: cannot count it
    expect(p.pending('a')).toBe(1);
    first(true, 1500);
    p.beat('a', 1400); // arrived before the answer
    expect(p.pending('a')).toBe(1);
    p.beat('a', 2000); // arrived after it: the runner counts the session itself now
    expect(p.pending('a')).toBe(0);
  });

  it('forgets a failed open at once and keeps runners apart', () => {
    const p = new Placements();
    const failed = p.start('a');
    p.start('b');
    failed(false, 10);
    expect(p.pending('a')).toBe(0);
    expect(p.pending('b')).toBe(1);
  });
});
