import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CommandRejected,
  ExecutionDecider,
  StreamTypes,
  type ExecutionCommand,
  type ExecutionEvent,
  type ExecutionState,
} from '@executor/contracts';
import { executionOutcome, executionStarted } from '@executor/contracts/testing/deciders';
import { CommandHandler } from './command-handler';
import { ConcurrencyError } from './errors';
import { EventStore } from './event-store';

const start: ExecutionCommand = { type: 'StartExecution', ...executionStarted() };
const finish: ExecutionCommand = { type: 'FinishExecution', outcome: executionOutcome() };

describe('CommandHandler (load, decide, append) on a real SQLite store', () => {
  let dir: string;
  let store: EventStore;
  let appends: number;
  let handler: CommandHandler<ExecutionState, ExecutionCommand, ExecutionEvent>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'command-handler-spec-'));
    store = await EventStore.open({ path: join(dir, 'events.sqlite') });
    appends = 0;
    const recorder = {
      record: (...args: Parameters<EventStore['append']>) => {
        appends++;
        return store.append(...args);
      },
    };
    handler = new CommandHandler(ExecutionDecider, StreamTypes.Execution, store, recorder);
  });

  afterEach(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the stream, decides and appends at the version it loaded, with the meta of the state', async () => {
    const started = await handler.handle('execution-e1', start, {
      meta: (s) => ({ tenantId: s.status === 'none' ? 't1' : null, correlationId: 'c1' }),
    });
    expect(started).toMatchObject({ version: 1, state: { status: 'started' } });
    expect(started.stored.map((e) => [e.type, e.version, e.tenant_id, e.correlation_id])).toEqual([
      ['ExecutionStarted', 1, 't1', 'c1'],
    ]);
    const finished = await handler.handle('execution-e1', finish);
    expect(finished).toMatchObject({ version: 2, state: { status: 'finished' } });
    expect(await handler.load('execution-e1')).toEqual({ state: finished.state, version: 2 });
  });

  it('appends nothing when the decider decides nothing', async () => {
    await handler.handle('execution-e1', start);
    await handler.handle('execution-e1', finish);
    appends = 0;
    const again = await handler.handle('execution-e1', { type: 'MarkExecutionLost', reason: 'unfinished' });
    expect(again).toMatchObject({ version: 2, stored: [] });
    expect(appends).toBe(0);
  });

  it('after a concurrent append, decides again on the stream as it now is', async () => {
    const started = await handler.handle('execution-e1', start);
    // Another process marks it lost while this one still holds the started state.
    await handler.handle('execution-e1', { type: 'MarkExecutionLost', reason: 'runner_silent' });
    const late = await handler.handle('execution-e1', finish, { known: started });
    expect(late).toMatchObject({ version: 2, stored: [], state: { status: 'lost' } });
    expect((await store.readStream('execution-e1')).map((e) => e.type)).toEqual([
      'ExecutionStarted',
      'ExecutionLost',
    ]);
  });

  it('throws the ConcurrencyError once its retries are spent', async () => {
    await handler.handle('execution-e1', start);
    const stale = { state: ExecutionDecider.initialState, version: 0 };
    await expect(handler.handle('execution-e1', start, { known: stale, retries: 0 })).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    // With a retry the decider sees the stream and refuses with a code.
    await expect(handler.handle('execution-e1', start, { known: stale })).rejects.toMatchObject({
      code: 'CONCURRENCY_CONFLICT',
    });
  });

  it('throws a rejection as it is, before anything is appended', async () => {
    appends = 0;
    const err = await handler.handle('execution-e2', finish).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CommandRejected);
    expect(err).toMatchObject({ code: 'NOT_FOUND' });
    expect(appends).toBe(0);
  });
});
