import type { EventEnvelope } from '../../libs/contracts/src';
import { EventStore } from '../../libs/event-store/src/event-store';
import { IntegrityCheck } from '../../libs/event-store/src/integrity';
import { Stack, waitFor } from '../../scripts/lib/stack';

interface Outcome {
  kind: 'oneoff' | 'session';
  started: number;
  ended: number;
  status: number;
  code?: string;
  ok: boolean;
}

const monitor = async <T>(port: number, path: string): Promise<T> =>
  (await (await fetch(`http://127.0.0.1:${port}${path}`)).json()) as T;

describe('a three-node NATS cluster with one node killed mid-load', () => {
  let stack: Stack;
  const outcomes: Outcome[] = [];
  const sessions: string[] = [];
  let killedAt = 0;
  let victim = '';

  beforeAll(async () => {
    stack = await Stack.create(
      { POOL_SIZES: 'default=2', RUNNER_CAPACITY: '8', RATE_LIMIT_PER_MINUTE: '100000' },
      { natsNodes: 3 },
    );
    expect(stack.info.natsUrl.split(',')).toHaveLength(3);
    await stack.start();
    // Every node routes to the two others.
    await waitFor(
      async () => {
        for (const node of stack.info.natsNodes) {
          const routez = await monitor<{ num_routes: number }>(node.monitorPort, '/routez');
          if (routez.num_routes < 2) return false;
        }
        return true;
      },
      30000,
      'a formed cluster',
    );
    for (let i = 0; i < 3; i++) {
      const r = await stack.request<{ session_id: string }>('POST', '/session/create', {
        tenant_id: 'cluster',
        scope: `s${i}`,
      });
      expect(r.status).toBe(200);
      sessions.push(r.body.session_id);
    }
  });
  afterAll(() => stack?.stop());

  it('answers every request; only those in flight when the node died fail, with clear errors', async () => {
    const runFor = Number(process.env.CLUSTER_RUN_MS ?? 24000);
    const killAfter = 8000;
    const t0 = Date.now();
    const worker = async (w: number) => {
      for (let k = 0; Date.now() - t0 < runFor; k++) {
        const kind: Outcome['kind'] = w % 2 === 0 ? 'oneoff' : 'session';
        const started = Date.now();
        let status = 0;
        let code: string | undefined;
        let ok = false;
        try {
          const r =
            kind === 'oneoff'
              ? await stack.request<{ stdout: string; error?: { code: string } }>(
                  'POST',
                  '/execute',
                  { tenant_id: 'cluster', code: `print(${w * 1000 + k})`, timeout: 10 },
                  150000,
                )
              : await stack.request<{ stdout: string; error?: { code: string } }>(
                  'POST',
                  '/session/execute',
                  { session_id: sessions[w % 3], code: `print(${w * 1000 + k})`, timeout: 10 },
                  150000,
                );
          status = r.status;
          code = r.body.error?.code;
          ok = r.status === 200 && r.body.stdout === `${w * 1000 + k}\n`;
        } catch {
          status = 0; // no answer at all
        }
        outcomes.push({ kind, started, ended: Date.now(), status, code, ok });
      }
    };
    const killer = (async () => {
      await new Promise((r) => setTimeout(r, killAfter));
      // The node the session-service takes its requests on goes (every API call passes through
      // it), or with VICTIM=… the one holding that connection name.
      const wanted = process.env.CLUSTER_VICTIM ?? 'session-service-server';
      for (const [i, node] of stack.info.natsNodes.entries()) {
        const connz = await monitor<{ connections: Array<{ name?: string }> }>(node.monitorPort, '/connz');
        if (connz.connections.some((c) => c.name === wanted)) victim = i === 0 ? 'nats' : `nats-${i}`;
      }
      killedAt = Date.now();
      await stack.stopProcess(victim, 'SIGKILL');
    })();
    await Promise.all([killer, ...Array.from({ length: 6 }, (_, w) => worker(w))]);

    const failed = outcomes.filter((o) => !o.ok);
    const before = outcomes.filter((o) => o.ended < killedAt);
    const after = outcomes.filter((o) => o.started > killedAt + 2000);
    process.stdout.write(
      `${JSON.stringify({
        victim,
        requests: outcomes.length,
        failed: failed.map((o) => ({
          kind: o.kind,
          status: o.status,
          code: o.code,
          ms: o.ended - o.started,
        })),
        before_kill: before.length,
        after_kill: after.length,
      })}\n`,
    );
    expect(before.length).toBeGreaterThan(20);
    expect(after.length).toBeGreaterThan(20);
    // Every request got an answer, and every failure is a coded 503/504, never a 500. A request
    // whose message was inside the dead node is answered at the API's timeout (the run's 10 s
    // plus 60 s here): nothing can tell that it was lost, only that no answer came.
    for (const o of failed) {
      expect(o.status).not.toBe(0);
      expect([503, 504]).toContain(o.status);
      expect(['DEPENDENCY_UNAVAILABLE', 'DEPENDENCY_TIMEOUT', 'RUNNER_LOST']).toContain(o.code);
      // Only requests that were in flight as the node died (or sent while the stack moved to
      // the other nodes, within 2 s of it) fail.
      expect(o.ended).toBeGreaterThanOrEqual(killedAt);
      expect(o.started).toBeLessThanOrEqual(killedAt + 2000);
    }
    expect(failed.length).toBeLessThanOrEqual(6 * 2);
    for (const o of after) expect(o.ok).toBe(true);
  }, 240000);

  it('loses no session and leaves a whole log', async () => {
    for (const id of sessions) {
      const view = await stack.request<{ session: { state: string } }>('GET', `/session/${id}`);
      expect(view.body.session.state).toBe('active');
    }
    const store = await EventStore.open({ path: stack.info.dbPath });
    const check = new IntegrityCheck();
    const lost: EventEnvelope[] = [];
    try {
      await waitFor(
        async () => {
          let open = 0;
          for await (const e of store.scan({
            types: ['ExecutionStarted', 'ExecutionFinished', 'ExecutionLost'],
          }))
            open += e.type === 'ExecutionStarted' ? 1 : -1;
          return open === 0;
        },
        30000,
        'every run ended in the log',
      );
      for await (const e of store.scan()) {
        check.add(e);
        if (e.type === 'SessionLost') lost.push(e);
      }
    } finally {
      await store.close();
    }
    expect(lost).toEqual([]);
    const report = check.finish();
    expect(report.ok).toBe(true);
    expect((await stack.request('GET', '/health')).status).toBe(200);
  });
});
