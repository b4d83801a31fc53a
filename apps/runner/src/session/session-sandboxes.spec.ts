import { type INestApplicationContext } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ErrorCodes, type RunnerSessionExecute, type TemplateSpec } from '@executor/contracts';
import { NATS_CONNECTION } from '@executor/common';
import { RpcException } from '@nestjs/microservices';
import { Admission } from '../execution/admission';
import { ReadySandboxes } from '../images/ready-sandboxes';
import { RUNNER_CONFIG } from '../runner.config';
import { RUN_LIMITS } from '../sandbox/run-limits';
import { RunOutput } from '../sandbox/run-output';
import type { KernelOutcome, KernelRequest } from '../sandbox/sandbox';
import { SandboxPool } from '../sandbox/sandbox-pool';
import { SessionSandboxes } from './session-sandboxes';

const limits = { outputBytes: 1024, richBytes: 4096, replyBytes: 1 << 20, frameBytes: 1 << 16 };
const template = {
  name: 'default',
  kernel: 'python',
  languages: ['python', 'bash'],
  timeout: 30,
} as unknown as TemplateSpec;

/** A sandbox double: Docker is not the point here; what the holder does with its outcomes is. */
class SandboxDouble {
  static made = 0;
  readonly n = ++SandboxDouble.made;
  alive = true;
  requests: KernelRequest[] = [];
  running = 0;
  mostAtOnce = 0;
  /** What the next run does: answer, or die (killed after an interrupt that did not work, OOM). */
  next: 'answer' | 'die' = 'answer';
  release?: () => void;

  async execute(request: KernelRequest): Promise<KernelOutcome> {
    this.requests.push(request);
    this.mostAtOnce = Math.max(this.mostAtOnce, ++this.running);
    await new Promise<void>((r) => {
      this.release = r;
      setTimeout(r, 20);
    });
    this.running--;
    const output = new RunOutput(limits);
    output.stdout.push(Buffer.from(`ran in sandbox ${this.n}\n`));
    output.exitCode = 0;
    const died = this.next === 'die';
    if (died) this.alive = false;
    return { output, durationMs: 5, timedOut: died, oomKilled: false, died };
  }
  kill() {
    return Promise.resolve();
  }
  interrupt() {
    return Promise.resolve();
  }
}

const codeOf = (err: unknown) =>
  ((err instanceof RpcException ? err.getError() : err) as { code?: string }).code;

describe('SessionSandboxes (Nest context; sandboxes, pool and NATS doubled)', () => {
  let app: INestApplicationContext;
  let holder: SessionSandboxes;
  let acquired: SandboxDouble[];
  let discarded: SandboxDouble[];

  beforeEach(async () => {
    acquired = [];
    discarded = [];
    const testing = await Test.createTestingModule({
      providers: [
        {
          provide: ReadySandboxes,
          useValue: {
            acquire: () => {
              const s = new SandboxDouble();
              acquired.push(s);
              return Promise.resolve(s);
            },
          },
        },
        { provide: SandboxPool, useValue: { discard: (s: SandboxDouble) => discarded.push(s) } },
        { provide: RUNNER_CONFIG, useValue: { RUNNER_ID: 'r1', KERNEL_READY_TIMEOUT_S: 5 } },
        { provide: NATS_CONNECTION, useValue: {} },
        { provide: Admission, useValue: new Admission(4, 4, 1000) },
        { provide: RUN_LIMITS, useValue: limits },
        SessionSandboxes,
      ],
    }).compile();
    testing.useLogger(false);
    app = await testing.init();
    holder = app.get(SessionSandboxes);
  });

  afterEach(() => app.close());

  const open = (session_id = 's1') =>
    holder.open({ session_id, template, env: { FROM: 'session', BOTH: 'session' } });
  const run = (over: Partial<RunnerSessionExecute> = {}) =>
    holder.execute({
      session_id: 's1',
      execution_id: 'e1',
      code: 'print(1)',
      language: 'python',
      files: [],
      env: { BOTH: 'run' },
      timeout: 5,
      ...over,
    });

  it('holds one sandbox per session, numbers its runs and gives each the session env under its own', async () => {
    expect(await open()).toEqual({ runner_id: 'r1' });
    await open();
    expect(acquired).toHaveLength(1);
    const first = await run();
    const second = await run({ execution_id: 'e2' });
    expect([first.execution_count, second.execution_count]).toEqual([1, 2]);
    expect(first).toMatchObject({ session_id: 's1', status: 'success', state_lost: false });
    expect(first.stdout).toBe(`ran in sandbox ${acquired[0].n}\n`);
    expect(acquired[0].requests[0].env).toEqual({ FROM: 'session', BOTH: 'run' });
    expect(holder.list()).toMatchObject({ runner_id: 'r1', session_ids: ['s1'] });
  });

  it('never interleaves the runs of one session', async () => {
    await open();
    await Promise.all([run(), run({ execution_id: 'e2' }), run({ execution_id: 'e3' })]);
    expect(acquired[0].requests).toHaveLength(3);
    expect(acquired[0].mostAtOnce).toBe(1);
  });

  it('replaces a sandbox that died in a run, and says from then on that the state was lost', async () => {
    await open();
    acquired[0].next = 'die';
    const died = await run();
    expect(died.state_lost).toBe(true);
    expect(discarded).toEqual([acquired[0]]);
    expect(acquired).toHaveLength(2);
    const after = await run({ execution_id: 'e2' });
    expect(after).toMatchObject({ state_lost: true, stdout: `ran in sandbox ${acquired[1].n}\n` });
  });

  it('closes a session at once, even during a run: that run hears it was destroyed, later ones find nothing', async () => {
    await open();
    const during = run().catch(codeOf);
    await new Promise((r) => setTimeout(r, 5));
    expect(await holder.close('s1')).toEqual({ closed: true });
    expect(await during).toBe(ErrorCodes.SessionDestroyed);
    expect(discarded).toEqual([acquired[0]]);
    expect(holder.size).toBe(0);
    expect(await run().catch(codeOf)).toBe(ErrorCodes.SessionNotFound);
    expect(await holder.close('s1')).toEqual({ closed: false });
  });

  it('drops a sandbox found dead before a run and answers that it holds none', async () => {
    await open();
    acquired[0].alive = false;
    expect(await run().catch(codeOf)).toBe(ErrorCodes.SessionNotFound);
    expect(discarded).toEqual([acquired[0]]);
    expect(holder.list().session_ids).toEqual([]);
  });
});
