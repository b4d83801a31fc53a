import Database from 'better-sqlite3';
import Docker from 'dockerode';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'nats';
import { Subjects, type RunnerHeartbeat } from '../../libs/contracts/src';
import { checkStore } from '../../libs/event-store/src/backup';
import { Stack, waitFor } from '../../scripts/lib/stack';
import { waitForGauge } from './support/gauges';

interface ErrorBody {
  status: string;
  error: { code: string; message: string; retry_after?: number };
}

const typesOf = (dbPath: string, sql: string, ...args: unknown[]) => {
  const db = new Database(dbPath, { readonly: true });
  try {
    return db.prepare(sql).all(...args) as Array<Record<string, unknown>>;
  } finally {
    db.close();
  }
};

const startedOf = (dbPath: string, tenant: string) =>
  typesOf(
    dbPath,
    `SELECT stream_id FROM events WHERE type = 'ExecutionStarted' AND tenant_id = ?`,
    tenant,
  ).map((r) => r.stream_id as string);

describe('backpressure: a full runner refuses clearly and runs nothing it refused', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.create({
      RUNNER_CAPACITY: '1',
      RUNNER_QUEUE_LIMIT: '1',
      RUNNER_QUEUE_WAIT_S: '4',
      POOL_SIZES: 'default=2',
    });
    await stack.start();
  });
  afterAll(() => stack?.stop());

  const sleepRun = (tenant: string, seconds: number) =>
    stack.request<ErrorBody & { stdout: string }>('POST', '/execute', {
      tenant_id: tenant,
      code: `import time; time.sleep(${seconds}); print('slept')`,
      timeout: 20,
    });
  const runnerGauge = (name: string, ok: (n: number) => boolean, what: string) =>
    waitForGauge(stack.info.apiUrl, name, { runner_id: stack.info.runnerId }, ok, 60000, what);

  it('runs one, queues one and refuses the rest at once with 503 RUNNER_BUSY and Retry-After', async () => {
    // A slot is held from the run's start to its end, the start of its sandbox included: with
    // both runs' sandboxes warm, the queued run waits for the first run's sleep only.
    await runnerGauge('executor_runner_pool_ready', (n) => n === 2, 'two warm sandboxes');
    // Each answer is timed from when its request was sent.
    const timed = (p: ReturnType<typeof sleepRun>, since: number) =>
      p.then((r) => ({ ...r, ms: Date.now() - since }));
    const first = timed(sleepRun('bp', 3), Date.now());
    // The burst comes once the first run holds the one slot, not a guessed time after it was sent.
    await runnerGauge('executor_runner_running', (n) => n === 1, 'the first run to hold the slot');
    const burstAt = Date.now();
    const rest = await Promise.all([
      timed(sleepRun('bp', 0.5), burstAt),
      timed(sleepRun('bp', 0.5), burstAt),
      timed(sleepRun('bp', 0.5), burstAt),
    ]);
    const all = [await first, ...rest];
    const ok = all.filter((r) => r.status === 200);
    const refused = all.filter((r) => r.status === 503);
    expect(ok).toHaveLength(2);
    expect(refused).toHaveLength(2);
    for (const r of ok) expect(r.body.stdout).toBe('slept\n');
    for (const r of refused) {
      expect(r.body.error.code).toBe('RUNNER_BUSY');
      expect(Number(r.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(r.ms).toBeLessThan(1500); // refused at once, not after the 4 s wait for a slot
    }
    // Nothing refused was started: the log has exactly the runs that were answered 200.
    expect(startedOf(stack.info.dbPath, 'bp')).toHaveLength(2);
  });

  it('refuses a waiter whose wait for a slot ran out', async () => {
    const long = sleepRun('bw', 7);
    await runnerGauge('executor_runner_running', (n) => n === 1, 'the long run to hold the slot');
    const t0 = Date.now();
    const waited = await sleepRun('bw', 0.1);
    expect(waited.status).toBe(503);
    expect(waited.body.error.code).toBe('RUNNER_BUSY');
    expect(waited.body.error.message).toContain('within 4000 ms');
    expect(Date.now() - t0).toBeGreaterThanOrEqual(3900);
    expect((await long).status).toBe(200);
    expect(startedOf(stack.info.dbPath, 'bw')).toHaveLength(1);
  });
});

describe('a runner killed with -9 during an execution', () => {
  let stack: Stack;
  const docker = new Docker();
  beforeAll(async () => {
    stack = await Stack.create({ ORPHAN_SWEEP_INTERVAL_S: '5', POOL_SIZES: 'default=1' });
    await stack.start();
  });
  afterAll(() => stack?.stop());

  const lostOf = (stream: string) =>
    typesOf(
      stack.info.dbPath,
      `SELECT data FROM events WHERE stream_id = ? AND type = 'ExecutionLost'`,
      stream,
    ).map((r) => JSON.parse(r.data as string) as { reason: string });

  async function killDuringRun(tenant: string, restartAtOnce: boolean) {
    const run = stack.request<ErrorBody>('POST', '/execute', {
      tenant_id: tenant,
      code: 'import time; time.sleep(25)',
      timeout: 30,
    });
    await waitFor(
      () => Promise.resolve(startedOf(stack.info.dbPath, tenant).length === 1),
      20000,
      'the run to start',
    );
    const killedAt = Date.now();
    await stack.stopProcess('runner', 'SIGKILL');
    if (restartAtOnce) stack.startApp('runner');
    const res = await run;
    return { res, afterMs: Date.now() - killedAt, stream: startedOf(stack.info.dbPath, tenant)[0], killedAt };
  }

  it('gives the caller a clear 503 RUNNER_LOST within seconds when the runner stays down', async () => {
    const { res, afterMs, stream } = await killDuringRun('k9a', false);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('RUNNER_LOST');
    expect(res.body.error.message).toContain('heartbeats');
    expect(afterMs).toBeLessThan(12000); // well inside the run's own 30 s timeout
    expect(lostOf(stream)).toEqual([expect.objectContaining({ reason: 'runner_silent' })]);

    // Its sandbox outlived it; the restarted runner removes it at start.
    const restartedAt = Date.now() / 1000;
    stack.startApp('runner');
    await stack.waitHealthy(30000);
    await waitFor(
      async () => {
        const mine = await docker.listContainers({
          all: true,
          filters: { label: [`executor.runner=${stack.info.runnerId}`] },
        });
        return mine.every((c) => c.Created >= Math.floor(restartedAt) - 1);
      },
      6000,
      'the killed run container to be removed',
    );
  });

  it('fails the caller at once when the runner is restarted right away, and marks the run lost', async () => {
    const { res, afterMs, stream } = await killDuringRun('k9b', true);
    expect(res.status).toBe(503);
    expect(res.body.error.code).toBe('RUNNER_LOST');
    expect(afterMs).toBeLessThan(12000);
    expect(lostOf(stream)).toEqual([expect.objectContaining({ reason: 'runner_restarted' })]);
    await stack.waitHealthy(30000);
    const report = await checkStore(stack.info.dbPath);
    expect(report).toMatchObject({ ok: true, unfinished_executions: [] });
    expect(report.lost_executions).toBeGreaterThanOrEqual(2);
  });
});

describe('SIGTERM drains the requests in flight', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await Stack.create({ DRAIN_TIMEOUT_S: '20' });
    await stack.start();
  });
  afterAll(() => stack?.stop());

  it('lets a running execution finish, takes no new work meanwhile, then stops', async () => {
    const run = stack.request<{ stdout: string; status: string }>('POST', '/execute', {
      tenant_id: 'drain',
      code: "import time; time.sleep(3); print('finished')",
      timeout: 10,
    });
    await waitFor(
      () => Promise.resolve(startedOf(stack.info.dbPath, 'drain').length === 1),
      20000,
      'the run to start',
    );
    const runner = stack.processes.get('runner')!;
    const exited = new Promise<number>((r) => runner.once('exit', () => r(Date.now())));
    // The runner says it drains once it has left its subjects (the server has its UNSUB): the
    // new request is sent then, not a guessed time after the signal.
    const nc = await connect({ servers: stack.info.natsUrl });
    let draining = false;
    nc.subscribe(Subjects.RunnerHeartbeat, {
      callback: (_err, msg) => {
        const hb = JSON.parse(new TextDecoder().decode(msg.data)) as RunnerHeartbeat;
        if (hb.runner_id === stack.info.runnerId && hb.draining) draining = true;
      },
    });
    await nc.flush();
    runner.kill('SIGTERM');
    try {
      await waitFor(() => Promise.resolve(draining), 10000, 'a heartbeat of the runner saying it drains');
    } finally {
      await nc.close();
    }
    const refused = await stack.request<ErrorBody>('POST', '/execute', {
      tenant_id: 'drain2',
      code: 'print(1)',
    });
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');

    const res = await run;
    const answeredAt = Date.now();
    expect(res.status).toBe(200);
    expect(res.body.stdout).toBe('finished\n');
    const exitAt = await exited;
    expect(exitAt).toBeGreaterThanOrEqual(answeredAt - 1000);
    const log = readFileSync(join(stack.info.dir, 'runner.log'), 'utf8');
    expect(log).toContain('every request in flight finished before the stop');
    stack.processes.delete('runner');

    const types = typesOf(
      stack.info.dbPath,
      `SELECT type FROM events WHERE stream_id = ? ORDER BY version`,
      startedOf(stack.info.dbPath, 'drain')[0],
    ).map((r) => r.type);
    expect(types).toEqual(['ExecutionStarted', 'ExecutionFinished']);
    stack.startApp('runner');
    await stack.waitHealthy(30000);
  });
});

/** Needs root (mount). A tmpfs of the test's own holds the event store. */
describe('event store on a full or read-only disk', () => {
  let stack: Stack;
  let mountDir: string;
  let mounted = false;
  const canMount = process.getuid?.() === 0;
  const storeApps = ['runner', 'template-service', 'session-service', 'metrics'] as const;

  beforeAll(async () => {
    if (!canMount) return;
    mountDir = mkdtempSync(join(tmpdir(), 'executor-store-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', mountDir]);
    mounted = true;
    stack = await Stack.create({ EVENT_STORE_PATH: join(mountDir, 'events.sqlite') });
    await stack.start();
  });

  afterAll(async () => {
    await stack?.stop();
    if (mounted) execFileSync('umount', ['-l', mountDir]);
    if (mountDir) rmSync(mountDir, { recursive: true, force: true });
  });

  const fill = () => {
    try {
      execFileSync('dd', ['if=/dev/zero', `of=${join(mountDir, 'filler')}`, 'bs=64k'], { stdio: 'ignore' });
    } catch {
      // dd stops with "No space left on device": that is the point
    }
  };

  (canMount ? it : it.skip)(
    'answers 503 EVENT_STORE_UNAVAILABLE while the disk is full, and writes again once it has room',
    async () => {
      fill();
      const results: Array<{ kind: string; status: number; code?: string; id?: string }> = [];
      for (let i = 0; i < 30; i++) {
        const create = await stack.request<ErrorBody & { session_id: string }>('POST', '/session/create', {
          tenant_id: 'full',
          scope: `s${i}`,
        });
        results.push({
          kind: 'create',
          status: create.status,
          code: create.body.error?.code,
          id: create.body.session_id,
        });
        const exec = await stack.request<ErrorBody>('POST', '/execute', {
          tenant_id: 'full',
          code: 'print(1)',
        });
        results.push({ kind: 'execute', status: exec.status, code: exec.body.error?.code });
      }
      // Every answer is a success or the clear 503; never a 500.
      for (const r of results) {
        expect([200, 201, 503]).toContain(r.status);
        if (r.status === 503) expect(r.code).toBe('EVENT_STORE_UNAVAILABLE');
      }
      expect(results.filter((r) => r.status === 503).length).toBeGreaterThan(0);

      rmSync(join(mountDir, 'filler'));
      await waitFor(
        async () =>
          (await stack.request('POST', '/session/create', { tenant_id: 'full', scope: 'after' })).status <
          300,
        10000,
        'writes to resume',
      );
      expect((await stack.request('POST', '/execute', { tenant_id: 'full', code: 'print(1)' })).status).toBe(
        200,
      );

      // Nothing half-written: the log is whole, and holds exactly the creates that were answered.
      expect(await checkStore(stack.info.dbPath)).toMatchObject({ ok: true });
      const createdIds = typesOf(
        stack.info.dbPath,
        `SELECT json_extract(data, '$.session_id') id FROM events WHERE type = 'SessionCreated' AND tenant_id = 'full'`,
      ).map((r) => r.id);
      const answered = results.filter((r) => r.kind === 'create' && r.status < 300).map((r) => r.id);
      expect(createdIds.sort()).toEqual(
        [...answered, createdIds.find((id) => !answered.includes(id as string))].sort(),
      );
    },
  );

  (canMount ? it : it.skip)(
    'answers 503 while the store is read-only, and recovers when it is writable again',
    async () => {
      for (const app of storeApps) await stack.stopProcess(app);
      const before = readFileSync(stack.info.dbPath);
      execFileSync('mount', ['-o', 'remount,ro', mountDir]);
      try {
        for (const app of storeApps) stack.startApp(app);
        // They cannot open the store: each stops with the reason (a supervisor restarts it later).
        await waitFor(
          () => Promise.resolve(storeApps.every((a) => stack.processes.get(a)?.exitCode !== null)),
          20000,
          'the apps to give up on the read-only store',
        );
        const health = await stack.request<{ status: string }>('GET', '/health');
        expect(health.status).toBe(503);
        expect(health.body.status).toBe('degraded');
        const exec = await stack.request<ErrorBody>('POST', '/execute', {
          tenant_id: 'ro',
          code: 'print(1)',
        });
        expect(exec.status).toBe(503);
        expect(exec.body.error.code).toBe('DEPENDENCY_UNAVAILABLE');
        expect(readFileSync(join(stack.info.dir, 'session-service.log'), 'utf8')).toMatch(
          /unable to open database/i,
        );
      } finally {
        execFileSync('mount', ['-o', 'remount,rw', mountDir]);
      }
      expect(readFileSync(stack.info.dbPath).equals(before)).toBe(true);
      for (const app of storeApps) stack.startApp(app);
      await stack.waitHealthy(60000);
      const exec = await stack.request('POST', '/execute', { tenant_id: 'ro', code: 'print(1)' });
      expect(exec.status).toBe(200);
      expect(await checkStore(stack.info.dbPath)).toMatchObject({ ok: true });
    },
  );
});

/** The README's run command: scripts/run-stack.js keeps nats-server and the apps alive. */
describe('the supervisor (npm start) restarts what dies', () => {
  let stack: Stack;
  let supervisor: ChildProcess | undefined;

  beforeAll(async () => {
    stack = await Stack.create({ DRAIN_TIMEOUT_S: '5' });
  });

  afterAll(() => {
    if (supervisor && supervisor.exitCode === null) supervisor.kill('SIGKILL');
  });

  const pidsOf = (pattern: string) => {
    try {
      return execFileSync('pgrep', ['-f', pattern]).toString().trim().split('\n').map(Number);
    } catch {
      return [];
    }
  };

  it('restarts nats-server and a killed app, and stops everything on SIGTERM', async () => {
    const logPath = join(stack.info.dir, 'supervisor.log');
    writeFileSync(logPath, '');
    const out = openSync(logPath, 'a');
    supervisor = spawn(process.execPath, [join(__dirname, '..', '..', 'scripts', 'run-stack.js')], {
      env: { ...process.env, ...stack.info.env },
      stdio: ['ignore', out, out],
    });
    await stack.waitHealthy(60000);
    const natsPattern = `nats-server.*-p ${stack.info.natsPort}`;
    expect(pidsOf(natsPattern)).toHaveLength(1);

    for (const pattern of [natsPattern, `${stack.info.runnerId}`]) {
      const [pid] = pattern === natsPattern ? pidsOf(natsPattern) : [];
      if (pid) process.kill(pid, 'SIGKILL');
      else {
        // The runner: the app whose environment names this stack's runner id.
        const runnerPid = pidsOf('dist/apps/runner/src/main.js').find(
          (p) =>
            existsSync(`/proc/${p}/environ`) &&
            readFileSync(`/proc/${p}/environ`, 'utf8').includes(`RUNNER_ID=${stack.info.runnerId}`),
        );
        expect(runnerPid).toBeDefined();
        process.kill(runnerPid!, 'SIGKILL');
      }
      await new Promise((r) => setTimeout(r, 500));
      await stack.waitHealthy(60000);
      const exec = await stack.request<{ stdout: string }>('POST', '/execute', {
        tenant_id: 'sup',
        code: 'print(7)',
      });
      expect(exec.status).toBe(200);
      expect(exec.body.stdout).toBe('7\n');
    }
    expect(readFileSync(logPath, 'utf8')).toMatch(/nats exited .*restarting/);
    expect(readFileSync(logPath, 'utf8')).toMatch(/runner exited .*restarting/);

    const done = new Promise<number | null>((r) => supervisor!.once('exit', (code) => r(code)));
    supervisor.kill('SIGTERM');
    expect(await done).toBe(0);
    expect(pidsOf(natsPattern)).toHaveLength(0);
  });
});
