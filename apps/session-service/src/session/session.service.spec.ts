import { Test } from '@nestjs/testing';
import type { INestApplicationContext } from '@nestjs/common';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RpcException } from '@nestjs/microservices';
import { Events } from 'nats';
import { ErrorCodes, Subjects, type SessionExecuteReply, type TemplateSpec } from '@executor/contracts';
import { EventPublisher, EventRecorder, NATS_CONNECTION, NatsRpc, RemoteError } from '@executor/common';
import { EventStore } from '@executor/event-store';
import { TemplateLookup } from '../execution/template-lookup';
import { RunnerWatch } from '../runners/runner-watch';
import { SessionServiceConfig } from '../session-service.config';
import { SessionRepository } from './session.repository';
import { SessionService } from './session.service';

/**
 * SessionService in a Nest context with its real collaborators (repository, decider, handler,
 * template lookup, runner watch) on a real SQLite store; only NATS is a double: an RPC that
 * answers as a runner and the template-service would, and a connection nothing arrives on.
 */
const template = {
  name: 'default',
  languages: ['python', 'bash'],
  timeout: 30,
} as unknown as TemplateSpec;

class RpcDouble {
  calls: Array<{ subject: string; request: unknown; to: string }> = [];
  executeFails?: RemoteError;
  /** Holds the runner's answer to a run until it resolves (a run still on its way). */
  executeHeld?: Promise<void>;

  send(subject: string, request: unknown, _timeoutMs: number, to: string = subject): Promise<unknown> {
    this.calls.push({ subject, request, to });
    switch (subject) {
      case Subjects.TemplatesGet:
        return Promise.resolve(template);
      case Subjects.RunnerSessionOpen:
        return Promise.resolve({ runner_id: 'r1' });
      case Subjects.RunnerSessionClose:
        return Promise.resolve({ closed: true });
      case Subjects.RunnerSessionExecute: {
        const fails = this.executeFails;
        if (this.executeHeld && fails) return this.executeHeld.then(() => Promise.reject(fails));
        if (fails) return Promise.reject(fails);
        const r = request as { execution_id: string; session_id: string; language: string };
        return Promise.resolve({
          status: 'success',
          execution_id: r.execution_id,
          template: 'default',
          language: r.language,
          exit_code: 0,
          stdout: 'secret output\n',
          stderr: '',
          execution_time: 0.012,
          results: [],
          artifacts: [],
          timed_out: false,
          oom_killed: false,
          truncated: false,
          session_id: r.session_id,
          state_lost: false,
          execution_count: 1,
        } satisfies SessionExecuteReply);
      }
      default:
        return Promise.reject(new Error(`unexpected ${subject}`));
    }
  }

  sent(subject: string) {
    return this.calls.filter((c) => c.subject === subject);
  }
}

/** The wire code of what a call threw: an RpcException's payload, or an error that carries one. */
function codeOf(err: unknown): string | undefined {
  const payload = err instanceof RpcException ? err.getError() : err;
  return (payload as { code?: string }).code;
}
const ref = (session_id: string, tenant_id?: string) => ({
  session_id,
  correlation_id: 'c1',
  ...(tenant_id ? { tenant_id } : {}),
});
const refusal = (call: Promise<unknown>) => call.then(() => 'no refusal', codeOf);

/** A NATS connection on which nothing arrives: RunnerWatch subscribes and watches its status. */
const quietConnection = () => ({
  subscribe: () => ({ unsubscribe: () => undefined }),
  status: () => ({
    [Symbol.asyncIterator]: () => ({ next: () => new Promise<never>(() => undefined) }),
  }),
  publish: () => undefined,
  info: { server_id: 'double' },
  isClosed: () => false,
  Events,
});

async function serviceOn(path: string, config: SessionServiceConfig, rpc: RpcDouble) {
  const store = await EventStore.open({ path });
  const nc = quietConnection();
  const testing = await Test.createTestingModule({
    providers: [
      { provide: SessionServiceConfig, useValue: config },
      { provide: EventStore, useValue: store },
      {
        provide: EventRecorder,
        useValue: new EventRecorder(store, { publish: () => undefined } as unknown as EventPublisher),
      },
      { provide: NATS_CONNECTION, useValue: nc },
      { provide: NatsRpc, useValue: rpc },
      TemplateLookup,
      SessionRepository,
      RunnerWatch,
      SessionService,
    ],
  }).compile();
  testing.useLogger(false);
  const app = await testing.init();
  return { app, store, service: app.get(SessionService), repo: app.get(SessionRepository) };
}

describe('SessionService (Nest context, real store, NATS doubled)', () => {
  let dir: string;
  let config: SessionServiceConfig;
  let rpc: RpcDouble;
  let app: INestApplicationContext;
  let store: EventStore;
  let service: SessionService;
  const others: INestApplicationContext[] = [];

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'session-service-spec-'));
    config = Object.assign(new SessionServiceConfig(), { MAX_SESSIONS_PER_TENANT: 2 });
    rpc = new RpcDouble();
    ({ app, store, service } = await serviceOn(join(dir, 'events.sqlite'), config, rpc));
  });

  afterEach(async () => {
    for (const other of others.splice(0)) await other.close();
    await app.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const create = (over: Record<string, unknown> = {}) =>
    service.create({ tenant_id: 't1', scope: 'chat', metadata: {}, env: {}, reuse: true, ...over } as never);
  const types = async (sessionId: string) =>
    (await store.readStream(`session-${sessionId}`)).map((e) => e.type);

  it('creates a session on the runner that opened its sandbox, owned by its tenant in the log', async () => {
    const reply = await create({ ttl: 60 });
    expect(reply).toMatchObject({ status: 'success', template: 'default', ttl: 60, reused: false });
    const [created] = await store.readStream(`session-${reply.session_id}`);
    expect(created).toMatchObject({ type: 'SessionCreated', version: 1, tenant_id: 't1' });
    expect(created.data).toMatchObject({ session_id: reply.session_id, runner_id: 'r1', ttl_s: 60 });
    expect(service.get(ref(reply.session_id, 't1'))).toMatchObject({
      state: 'active',
      executions: 0,
    });
    expect(await refusal(Promise.resolve().then(() => service.get(ref(reply.session_id, 't2'))))).toBe(
      ErrorCodes.SessionNotFound,
    );
  });

  it('reuses a live session of the same tenant, scope and template, and holds each tenant to its limit', async () => {
    const first = await create();
    const again = await create();
    expect(again).toMatchObject({ session_id: first.session_id, reused: true });
    expect(await types(first.session_id)).toEqual(['SessionCreated', 'SessionReused']);
    expect(rpc.sent(Subjects.RunnerSessionOpen)).toHaveLength(1);
    await create({ reuse: false });
    expect(await refusal(create({ reuse: false }))).toBe(ErrorCodes.SessionLimit);
  });

  it('records a run by its size and hash only, on the runner it is pinned to', async () => {
    const { session_id } = await create();
    const reply = await service.execute({ session_id, code: 'print("secret")', files: [] } as never);
    expect(reply.stdout).toBe('secret output\n');
    expect(rpc.sent(Subjects.RunnerSessionExecute)[0].to).toBe(`executor.runner.r1.session.execute`);
    const [, executed] = await store.readStream(`session-${session_id}`);
    expect(executed.type).toBe('SessionExecuted');
    expect(executed.data).toMatchObject({ code_bytes: 15, status: 'success', duration_ms: 12 });
    expect(JSON.stringify(executed)).not.toContain('secret');
    expect(service.get(ref(session_id))).toMatchObject({ executions: 1 });
  });

  it('marks a session lost when its runner no longer holds the sandbox', async () => {
    const { session_id } = await create();
    rpc.executeFails = new RemoteError(ErrorCodes.SessionNotFound, 'gone');
    expect(await refusal(service.execute({ session_id, code: '1', files: [] } as never))).toBe(
      ErrorCodes.SessionLost,
    );
    expect(await types(session_id)).toEqual(['SessionCreated', 'SessionLost']);
    expect(service.get(ref(session_id)).state).toBe('lost');
  });

  it('ends a run as destroyed, not lost, when a destroy closed the sandbox before the run reached it', async () => {
    const { session_id } = await create();
    let arrive = () => undefined as void;
    rpc.executeHeld = new Promise<void>((resolve) => (arrive = resolve));
    rpc.executeFails = new RemoteError(ErrorCodes.SessionNotFound, 'no sandbox for this session');
    const run = refusal(service.execute({ session_id, code: '1', files: [] } as never));
    // The destroy closes the sandbox at once, then waits for the run's turn to record the end.
    const destroyed = service.destroy(ref(session_id)).then((r) => r, codeOf);
    await new Promise((r) => setImmediate(r));
    expect(rpc.sent(Subjects.RunnerSessionClose)).toHaveLength(1);
    arrive();
    expect(await run).toBe(ErrorCodes.SessionDestroyed);
    expect(await destroyed).toEqual({ status: 'success', session_id });
    expect(await types(session_id)).toEqual(['SessionCreated', 'SessionDestroyed']);
    // Without a destroy under way, the same answer still means the sandbox was lost.
    const other = await create({ scope: 'other' });
    rpc.executeHeld = undefined;
    expect(
      await refusal(service.execute({ session_id: other.session_id, code: '1', files: [] } as never)),
    ).toBe(ErrorCodes.SessionLost);
  });

  it('destroys a session once: its sandbox is closed and later calls hear it was destroyed', async () => {
    const { session_id } = await create();
    await service.destroy(ref(session_id));
    expect(rpc.sent(Subjects.RunnerSessionClose).length).toBeGreaterThanOrEqual(1);
    expect(await types(session_id)).toEqual(['SessionCreated', 'SessionDestroyed']);
    expect(await refusal(service.execute({ session_id, code: '1', files: [] } as never))).toBe(
      ErrorCodes.SessionDestroyed,
    );
    expect(await refusal(service.destroy(ref(session_id)))).toBe(ErrorCodes.SessionDestroyed);
  });

  it('expires a session idle past its ttl and closes its sandbox', async () => {
    const { session_id } = await create({ ttl: 1 });
    expect(await service.expireIdle(new Date(Date.now() + 500))).toBe(0);
    expect(await service.expireIdle(new Date(Date.now() + 2000))).toBe(1);
    const [, expired] = await store.readStream(`session-${session_id}`);
    expect(expired).toMatchObject({ type: 'SessionExpired', data: { reason: 'idle' } });
    expect(service.get(ref(session_id)).state).toBe('expired');
  });

  it('decides again when another process appended first, and catches up with it', async () => {
    const { session_id } = await create();
    // A second session-service on the same store ends the session; this one has not seen it.
    const other = await serviceOn(join(dir, 'events.sqlite'), config, new RpcDouble());
    others.push(other.app);
    await other.service.destroy(ref(session_id));
    expect(service.get(ref(session_id)).state).toBe('active');
    expect(await refusal(service.execute({ session_id, code: '1', files: [] } as never))).toBe(
      ErrorCodes.SessionDestroyed,
    );
    expect(await types(session_id)).toEqual(['SessionCreated', 'SessionDestroyed']);
    expect(service.get(ref(session_id)).state).toBe('destroyed');
    await other.store.close();
  });
});
