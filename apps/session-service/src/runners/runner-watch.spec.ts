import { type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ErrorCodes, StreamTypes, type RunnerHeartbeat } from '@executor/contracts';
import { executionStarted, runnerHeartbeat } from '@executor/contracts/testing/deciders';
import { EventPublisher, EventRecorder, NATS_CONNECTION, RemoteError } from '@executor/common';
import { EventStore } from '@executor/event-store';
import { SessionServiceConfig } from '../session-service.config';
import { RunnerWatch } from './runner-watch';

type Callback = (err: Error | null, msg: { data: Uint8Array }) => void;

/** A NATS connection double: the test delivers heartbeats to what RunnerWatch subscribed. */
class ConnectionDouble {
  heartbeats?: Callback;
  subscribe(_subject: string, opts: { callback: Callback }) {
    this.heartbeats = opts.callback;
    return { unsubscribe: () => undefined };
  }
  status() {
    return { [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined) }) };
  }
  beat(hb: Partial<RunnerHeartbeat> & { runner_id: string }) {
    const full = runnerHeartbeat({ interval_ms: 50, sent_at: new Date().toISOString(), ...hb });
    this.heartbeats?.(null, { data: new TextEncoder().encode(JSON.stringify(full)) });
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const never = new Promise<never>(() => undefined);
const failure = (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (err: unknown) => err,
  );

describe('RunnerWatch (Nest context, real store, NATS doubled)', () => {
  let dir: string;
  let store: EventStore;
  let recorder: EventRecorder;
  let nc: ConnectionDouble;
  let app: INestApplicationContext;
  let watch: RunnerWatch;
  let gone: Array<[string, string]>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'runner-watch-spec-'));
    store = await EventStore.open({ path: join(dir, 'events.sqlite') });
    recorder = new EventRecorder(store, { publish: () => undefined } as unknown as EventPublisher);
    nc = new ConnectionDouble();
    // Ticks are driven by the test: the timer's interval is the longest allowed.
    const config = Object.assign(new SessionServiceConfig(), {
      RUNNER_MISSED_HEARTBEATS: 2,
      RUNNER_WATCH_INTERVAL_MS: 60000,
    });
    const testing = await Test.createTestingModule({
      providers: [
        { provide: SessionServiceConfig, useValue: config },
        { provide: EventStore, useValue: store },
        { provide: EventRecorder, useValue: recorder },
        { provide: NATS_CONNECTION, useValue: nc },
        RunnerWatch,
      ],
    }).compile();
    testing.useLogger(false);
    app = await testing.init();
    watch = app.get(RunnerWatch);
    gone = [];
    watch.onRunnerGone((runnerId, _atMs, reason) => Promise.resolve(gone.push([runnerId, reason])));
  });

  afterEach(async () => {
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('places sessions on the least loaded runner heard from, counting placements its heartbeat does not yet', () => {
    nc.beat({ runner_id: 'busy', running: 3 });
    nc.beat({ runner_id: 'idle' });
    nc.beat({ runner_id: 'leaving', draining: true });
    nc.heartbeats?.(null, { data: new TextEncoder().encode('not json') });
    expect(watch.placement().map((r) => r.runner_id)).toEqual(['idle', 'busy']);
    const done = watch.placed('idle');
    const placed = () => watch.placement().find((r) => r.runner_id === 'idle')?.sessions;
    expect(placed()).toBe(1);
    done(false);
    expect(placed()).toBe(0);
    expect(watch.runners()).toHaveLength(3);
  });

  it('fails a session call at once when its runner goes silent, and reports the runner gone', async () => {
    nc.beat({ runner_id: 'r1' });
    const call = failure(watch.failFastIfRunnerLost('x1', 'session', 'r1', never));
    await sleep(150); // two 50 ms heartbeats missed
    await watch.tick();
    const err = await call;
    expect(err).toBeInstanceOf(RemoteError);
    expect(err).toMatchObject({ code: ErrorCodes.SessionLost });
    expect(gone).toEqual([['r1', 'runner_silent']]);
  });

  it('passes a call through while its runner beats', async () => {
    nc.beat({ runner_id: 'r1' });
    const call = watch.failFastIfRunnerLost(
      'x2',
      'session',
      'r1',
      sleep(120).then(() => 'answered'),
    );
    for (let i = 0; i < 4; i++) {
      await sleep(30);
      nc.beat({ runner_id: 'r1' });
      await watch.tick();
    }
    expect(await call).toBe('answered');
    expect(gone).toEqual([]);
  });

  it('marks a one-off lost through the Execution decider when its runner restarts; the caller hears RUNNER_LOST', async () => {
    await recorder.record('execution-e1', StreamTypes.Execution, 0, [
      {
        type: 'ExecutionStarted',
        data: executionStarted({ code_bytes: 1 }),
      },
    ]);
    // A one-off's runner is learnt from the log.
    const call = failure(watch.failFastIfRunnerLost('e1', 'oneoff', undefined, never));
    await watch.tick();
    await sleep(5);
    await recorder.record('runner-r1', StreamTypes.Runner, 'any', [
      { type: 'RunnerStarted', data: { runner_id: 'r1' } },
    ]);
    await watch.tick();
    expect(await call).toMatchObject({ code: ErrorCodes.RunnerLost });
    const stream = await store.readStream('execution-e1');
    expect(stream.map((e) => [e.type, e.version])).toEqual([
      ['ExecutionStarted', 1],
      ['ExecutionLost', 2],
    ]);
    expect(stream[1].data).toEqual({ execution_id: 'e1', runner_id: 'r1', reason: 'runner_restarted' });
    expect(gone).toEqual([['r1', 'runner_restarted']]);
    // Marked once: a later tick appends nothing more.
    await watch.tick();
    expect(await store.readStream('execution-e1')).toHaveLength(2);
  });
});
