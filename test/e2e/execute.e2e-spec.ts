import { connect, type NatsConnection, StringCodec } from 'nats';
import { containersOfRunner, eventsOfStream, expectNoLeftoverContainers, post, stackInfo } from './client';
import { waitFor } from '../../scripts/lib/stack';

interface Result {
  status: string;
  execution_id: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  execution_time: number;
  artifacts: unknown[];
  error?: { name: string; value: string; traceback?: string };
  timed_out: boolean;
  oom_killed: boolean;
  truncated: boolean;
}

const execute = (body: Record<string, unknown>) => post<Result>('/execute', { tenant_id: 't-e2e', ...body });

describe('POST /execute (real NATS, Docker, SQLite)', () => {
  it('returns stdout and exit code 0 for a print', async () => {
    const res = await execute({
      scope: 's1',
      code: "print('Hello, Sandbox!')",
      language: 'python',
      template: 'default',
    });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      status: 'success',
      exit_code: 0,
      stdout: 'Hello, Sandbox!\n',
      stderr: '',
      timed_out: false,
      oom_killed: false,
      truncated: false,
      artifacts: [],
    });
    expect(res.body.execution_time).toBeGreaterThan(0);
    expect(res.headers.get('x-request-id')).toBeTruthy();
  });

  it('returns a non-zero exit code and the traceback for an exception', async () => {
    const res = await execute({ code: 'def f():\n    raise ValueError("boom")\n\nf()' });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('error');
    expect(res.body.exit_code).not.toBe(0);
    expect(res.body.stderr).toContain('Traceback (most recent call last)');
    expect(res.body.stderr).toContain('ValueError: boom');
    expect(res.body.stderr).toContain('raise ValueError("boom")');
    expect(res.body.error).toMatchObject({ name: 'ValueError', value: 'boom' });
  });

  it('reports sys.exit codes as they are', async () => {
    const res = await execute({ code: 'import sys\nprint("bye")\nsys.exit(3)' });
    expect(res.body).toMatchObject({ status: 'error', exit_code: 3, stdout: 'bye\n', timed_out: false });
  });

  it('kills an endless loop at its timeout, says timed_out, and leaves no container behind', async () => {
    const started = Date.now();
    const res = await execute({
      code: 'import os\nprint(os.environ["EXECUTOR_SANDBOX_ID"], flush=True)\nwhile True:\n    pass',
      timeout: 2,
    });
    const elapsed = (Date.now() - started) / 1000;
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'timeout', timed_out: true });
    const sandboxId = res.body.stdout.trim();
    expect(sandboxId).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.error?.name).toBe('TimeoutError');
    // Killed at its timeout: the run itself (from the code's start to its death, as the runner
    // measured it) lasted the 2 s and the kill. The round trip adds a sandbox start when the warm
    // pool is empty, which a loaded host makes slow, but stays far below the template's 30 s.
    expect(res.body.execution_time).toBeGreaterThanOrEqual(2);
    expect(res.body.execution_time).toBeLessThan(2 + 5);
    expect(elapsed).toBeGreaterThanOrEqual(2);
    expect(elapsed).toBeLessThan(2 + 15);
    await expectNoLeftoverContainers();
    await waitFor(
      async () => (await containersOfRunner()).every((c) => c.Labels['executor.sandbox'] !== sandboxId),
      5000,
      'the sandbox that ran the loop to be removed',
    );
  });

  it('runs without any network interface but lo, without routes, and with a read-only root', async () => {
    const code = [
      'import os',
      'print(sorted(os.listdir("/sys/class/net")))',
      'print(len(open("/proc/net/route").read().strip().splitlines()))',
      'for p in ["/x", "/etc/x", "/usr/x"]:',
      '    try:',
      '        open(p, "w")',
      '        print("wrote", p)',
      '    except OSError as e:',
      '        print("refused", p, e.errno)',
      'print(os.getuid())',
    ].join('\n');
    const res = await execute({ code });
    expect(res.body.status).toBe('success');
    const lines = res.body.stdout.trim().split('\n');
    expect(lines[0]).toBe("['lo']");
    expect(lines[1]).toBe('1'); // the header line only: no route at all
    expect(lines.slice(2, 5)).toEqual(['refused /x 30', 'refused /etc/x 30', 'refused /usr/x 30']);
    expect(lines[5]).not.toBe('0');
  });

  it('writes the files it was given into /workspace', async () => {
    const res = await execute({
      code: 'print(open("data/in.txt").read())\nprint(open("b.dat", "rb").read())',
      files: [
        { path: 'data/in.txt', content: 'hello file' },
        { path: 'b.dat', content: Buffer.from([0, 1, 2]).toString('base64'), encoding: 'base64' },
      ],
    });
    expect(res.body).toMatchObject({ status: 'success', stdout: "hello file\nb'\\x00\\x01\\x02'\n" });
  });

  it('appends ExecutionStarted then ExecutionFinished to the store, without the code or output', async () => {
    const secret = 'token-' + Math.random().toString(36).slice(2);
    const res = await post<Result>('/execute', { tenant_id: 't-events', code: `print("${secret}")` }, {});
    expect(res.body.stdout).toBe(`${secret}\n`);
    const events = eventsOfStream(`execution-${res.body.execution_id}`);
    expect(events.map((e) => [e.type, e.version])).toEqual([
      ['ExecutionStarted', 1],
      ['ExecutionFinished', 2],
    ]);
    expect(events[0].position).toBeLessThan(events[1].position);
    expect(events.every((e) => e.tenant_id === 't-events')).toBe(true);
    expect(events[0].correlation_id).toBe(res.headers.get('x-request-id'));
    expect(JSON.parse(events[1].data)).toMatchObject({
      status: 'success',
      exit_code: 0,
      stdout_bytes: secret.length + 1,
    });
    for (const e of events) expect(e.data).not.toContain(secret);
  });

  it('publishes both events on NATS with their positions', async () => {
    const nc: NatsConnection = await connect({ servers: stackInfo().natsUrl });
    const sc = StringCodec();
    const seen: Array<{ type: string; position: number; stream_id: string }> = [];
    const sub = nc.subscribe('executor.events.execution.>');
    const collecting = (async () => {
      for await (const m of sub) seen.push(JSON.parse(sc.decode(m.data)) as (typeof seen)[number]);
    })();
    await nc.flush();
    const res = await execute({ code: 'print(1)' });
    await waitFor(
      async () =>
        Promise.resolve(seen.filter((e) => e.stream_id.endsWith(res.body.execution_id)).length === 2),
      5000,
      'two events',
    );
    const mine = seen.filter((e) => e.stream_id === `execution-${res.body.execution_id}`);
    expect(mine.map((e) => e.type)).toEqual(['ExecutionStarted', 'ExecutionFinished']);
    expect(mine[1].position).toBeGreaterThan(mine[0].position);
    sub.unsubscribe();
    await collecting;
    await nc.close();
  });
});
