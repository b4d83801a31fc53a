import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect, type NatsConnection } from 'nats';
import {
  runnerOwnSubject,
  Subjects,
  type EventEnvelope,
  type RunnerHeartbeat,
} from '../../libs/contracts/src';
import { EventStore } from '../../libs/event-store/src/event-store';
import { Stack, waitFor } from '../../scripts/lib/stack';
import { createDatabase } from '../../libs/event-store/src/testing/postgres';

interface ErrorBody {
  status: string;
  error: { code: string; message: string };
}

/** Every event of some types in the stack's store (PostgreSQL here), read through the EventStore. */
async function eventsOf(stack: Stack, types: string[], tenant?: string): Promise<EventEnvelope[]> {
  const store = await EventStore.open({ url: stack.info.env.EVENT_STORE_URL });
  try {
    const out: EventEnvelope[] = [];
    for await (const e of store.scan({ types, tenant_id: tenant })) out.push(e);
    return out;
  } finally {
    await store.close();
  }
}

const runnerOf = (e: EventEnvelope) => (e.data as { runner_id: string }).runner_id;

describe('several runners on one NATS, the event store on PostgreSQL', () => {
  let stack: Stack;
  let database: Awaited<ReturnType<typeof createDatabase>>;
  let nc: NatsConnection;
  let runnerA: string;
  let runnerB: string;
  const heard = new Map<string, RunnerHeartbeat>();

  beforeAll(async () => {
    database = await createDatabase();
    stack = await Stack.create({
      POOL_SIZES: 'default=2',
      RUNNER_CAPACITY: '8',
      EVENT_STORE_URL: database.url,
    });
    runnerA = stack.info.runnerId;
    runnerB = `${runnerA}-b`;
    await stack.start();
    stack.startApp('runner', { name: 'runner-b', env: { RUNNER_ID: runnerB } });
    nc = await connect({ servers: stack.info.natsUrl });
    nc.subscribe('executor.runner.heartbeat', {
      callback: (_err, msg) => {
        const hb = JSON.parse(new TextDecoder().decode(msg.data)) as RunnerHeartbeat;
        heard.set(hb.runner_id, hb);
      },
    });
    await waitFor(
      () => Promise.resolve(heard.has(runnerA) && heard.has(runnerB)),
      60000,
      'heartbeats of both runners',
    );
    // A runner heartbeats from its bootstrap, before it subscribes to any subject: until then the
    // queue group has runner A alone and every one-off goes there. Runner B answering on its own
    // subject proves its subscriptions are in (all are sent at once, before any reply).
    await waitFor(
      async () => {
        const subject = runnerOwnSubject(runnerB, Subjects.RunnerSessionList);
        const body = JSON.stringify({ pattern: Subjects.RunnerSessionList, data: {}, id: 'e2e' });
        await nc.request(subject, body, { timeout: 2000 });
        return true;
      },
      60000,
      'runner B serving its subjects',
    );
  });

  afterAll(async () => {
    await nc?.close();
    await stack?.stop();
    await database?.drop();
    // runner-b was killed: its sandboxes stay behind until a runner with its id sweeps them.
    const docker = new Docker();
    for (const c of await docker.listContainers({
      all: true,
      filters: { label: [`executor.runner=${runnerB}`] },
    })) {
      await docker
        .getContainer(c.Id)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it('both runners register with an id and a capacity and heartbeat', async () => {
    const registered = (await eventsOf(stack, ['RunnerStarted'])).map(runnerOf);
    expect(registered).toEqual(expect.arrayContaining([runnerA, runnerB]));
    for (const id of [runnerA, runnerB]) {
      const hb = heard.get(id)!;
      expect(hb.capacity).toBe(8);
      expect(hb.instance_id).toEqual(expect.any(String));
      expect(hb.draining).toBe(false);
    }
  });

  it('both take one-off work under concurrent load', async () => {
    const runs = await Promise.all(
      Array.from({ length: 16 }, (_, i) =>
        stack.request<{ stdout: string }>('POST', '/execute', {
          tenant_id: 'scale-oneoff',
          code: `import time; time.sleep(0.4); print(${i})`,
        }),
      ),
    );
    runs.forEach((r, i) => {
      expect(r.status).toBe(200);
      expect(r.body.stdout).toBe(`${i}\n`);
    });
    const started = await eventsOf(stack, ['ExecutionStarted'], 'scale-oneoff');
    expect(started).toHaveLength(16);
    const perRunner = new Map<string, number>();
    for (const e of started) perRunner.set(runnerOf(e), (perRunner.get(runnerOf(e)) ?? 0) + 1);
    expect([...perRunner.keys()].sort()).toEqual([runnerA, runnerB].sort());
  });

  const sessions: Array<{ id: string; value: number; runner: string }> = [];

  it('spreads sessions over both; every call reaches the runner that holds the session', async () => {
    // Placement reads load from heartbeats up to a second old: one sent while the one-offs above
    // still ran says the runner is busy. Start from two runners whose latest heartbeat says idle;
    // the session-service hears a heartbeat before the creates sent after it (one NATS server).
    const since = Date.now();
    await waitFor(
      () =>
        Promise.resolve(
          [runnerA, runnerB].every((id) => {
            const hb = heard.get(id);
            return hb && Date.parse(hb.sent_at) > since && hb.running === 0 && hb.queued === 0;
          }),
        ),
      30000,
      'heartbeats of both runners saying idle',
    );
    for (let i = 0; i < 6; i++) {
      const created = await stack.request<{ session_id: string }>('POST', '/session/create', {
        tenant_id: 'scale-sessions',
        scope: `chat-${i}`,
      });
      expect(created.status).toBe(200);
      sessions.push({ id: created.body.session_id, value: 100 + i, runner: '' });
    }
    const createdEvents = await eventsOf(stack, ['SessionCreated'], 'scale-sessions');
    for (const s of sessions) {
      s.runner = runnerOf(createdEvents.find((e) => e.stream_id === `session-${s.id}`)!);
    }
    // Placed by load from heartbeats a second old at most: both take a fair share.
    expect(sessions.filter((s) => s.runner === runnerA).length).toBeGreaterThanOrEqual(2);
    expect(sessions.filter((s) => s.runner === runnerB).length).toBeGreaterThanOrEqual(2);
    // State set by one call is read by the next: both went to the sandbox's runner.
    await Promise.all(
      sessions.map(async (s) => {
        const set = await stack.request('POST', '/session/execute', {
          session_id: s.id,
          code: `x = ${s.value}`,
        });
        expect(set.status).toBe(200);
        const get = await stack.request<{ stdout: string }>('POST', '/session/execute', {
          session_id: s.id,
          code: 'print(x)',
        });
        expect(get.status).toBe(200);
        expect(get.body.stdout).toBe(`${s.value}\n`);
      }),
    );
  });

  it('refuses to start a runner whose id a live runner uses, and disturbs nothing', async () => {
    stack.startApp('runner', { name: 'runner-dup', env: { RUNNER_ID: runnerA } });
    const dup = stack.processes.get('runner-dup')!;
    const code = await Promise.race([
      new Promise<number | null>((resolve) => dup.once('exit', resolve)),
      new Promise<string>((resolve) => setTimeout(() => resolve('still running after 20 s'), 20000)),
    ]);
    expect(code).toBe(1);
    const log = readFileSync(join(stack.info.dir, 'runner-dup.log'), 'utf8');
    expect(log).toContain(`RUNNER_ID ${runnerA} is in use`);
    // It recorded no RunnerStarted (which would have cost runner A its sessions) and removed none
    // of runner A's containers: its sessions still answer (and none is lost, see below).
    expect(
      (await eventsOf(stack, ['RunnerStarted'])).map(runnerOf).filter((id) => id === runnerA),
    ).toHaveLength(1);
    const onA = sessions.find((s) => s.runner === runnerA)!;
    const r = await stack.request<{ stdout: string }>('POST', '/session/execute', {
      session_id: onA.id,
      code: 'print(x)',
    });
    expect(r.body.stdout).toBe(`${onA.value}\n`);
  });

  it('killing one runner leaves the other serving and marks the first one’s sessions lost', async () => {
    const onA = sessions.filter((s) => s.runner === runnerA);
    const onB = sessions.filter((s) => s.runner === runnerB);
    await stack.stopProcess('runner-b', 'SIGKILL');
    const killedAt = new Date().toISOString();

    // A call to a session on the dead runner fails at once with a clear error, not at its timeout.
    const t0 = Date.now();
    const call = await stack.request<ErrorBody>('POST', '/session/execute', {
      session_id: onB[0].id,
      code: 'print(x)',
    });
    expect(Date.now() - t0).toBeLessThan(10000);
    expect([503, 410]).toContain(call.status);
    expect(['DEPENDENCY_UNAVAILABLE', 'SESSION_LOST']).toContain(call.body.error.code);

    // Its sessions are marked lost once its heartbeats are missed; the others keep their state.
    await waitFor(
      async () => {
        const states = await Promise.all(
          onB.map((s) => stack.request<{ session: { state: string } }>('GET', `/session/${s.id}`)),
        );
        return states.every((r) => r.body.session.state === 'lost');
      },
      20000,
      'the dead runner’s sessions marked lost',
    );
    const lost = await eventsOf(stack, ['SessionLost'], 'scale-sessions');
    expect(lost.map((e) => e.stream_id).sort()).toEqual(onB.map((s) => `session-${s.id}`).sort());
    for (const s of onA) {
      const r = await stack.request<{ stdout: string }>('POST', '/session/execute', {
        session_id: s.id,
        code: 'print(x)',
      });
      expect(r.status).toBe(200);
      expect(r.body.stdout).toBe(`${s.value}\n`);
    }

    // New work all goes to the runner left: one-offs and new sessions.
    const runs = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        stack.request<{ stdout: string }>('POST', '/execute', {
          tenant_id: 'scale-after',
          code: `print(${i})`,
        }),
      ),
    );
    for (const r of runs) expect(r.status).toBe(200);
    const fresh = await stack.request<{ session_id: string }>('POST', '/session/create', {
      tenant_id: 'scale-after',
      scope: 'after',
    });
    expect(fresh.status).toBe(200);
    const after = await eventsOf(stack, ['ExecutionStarted', 'SessionCreated'], 'scale-after');
    expect(after).toHaveLength(9);
    for (const e of after) {
      expect(runnerOf(e)).toBe(runnerA);
      expect(e.occurred_at > killedAt).toBe(true);
    }
  });
});
