import type { NewEvent } from '@executor/contracts';
import Database from 'better-sqlite3';
import { ConcurrencyError, EventStoreUnavailableError } from './errors';
import { EventStore } from './event-store';
import type { SqliteStoreOptions } from './options';
import { createTarget, DRIVERS, postgresMissing, queryOn, type TestStoreTarget } from './testing/test-stores';

const started = (id: string, tenant = 't1'): NewEvent => ({
  type: 'ExecutionStarted',
  data: {
    execution_id: id,
    tenant_id: tenant,
    scope: 's',
    template: 'default',
    language: 'python',
    runner_id: 'r1',
    code_bytes: 8,
    code_sha256: 'abc',
    files_count: 0,
    files_bytes: 0,
    timeout_s: 30,
  },
});

const finished = (id: string): NewEvent => ({
  type: 'ExecutionFinished',
  data: {
    execution_id: id,
    status: 'success',
    exit_code: 0,
    duration_ms: 12,
    timed_out: false,
    oom_killed: false,
    truncated: false,
    stdout_bytes: 2,
    stderr_bytes: 0,
    artifacts_count: 0,
  },
});

const reused = (id: string): NewEvent => ({ type: 'SessionReused', data: { session_id: id } });

describe.each(DRIVERS)('EventStore on %s', (driver) => {
  if (postgresMissing(driver)) return;
  let target: TestStoreTarget;
  let store: EventStore;

  beforeEach(async () => {
    target = await createTarget(driver);
    store = await EventStore.open(target.options);
  });

  afterEach(async () => {
    await store.close();
    await target.remove();
  });

  it('appends to a new stream and reads it back in version order', async () => {
    const stored = await store.append('execution-a', 'execution', 0, [started('a'), finished('a')], {
      tenantId: 't1',
      correlationId: 'req-1',
    });
    expect(stored.map((e) => [e.type, e.version, e.position])).toEqual([
      ['ExecutionStarted', 1, 1],
      ['ExecutionFinished', 2, 2],
    ]);
    const read = await store.readStream('execution-a');
    expect(read).toEqual(stored);
    expect(read[0]).toMatchObject({ tenant_id: 't1', correlation_id: 'req-1', stream_type: 'execution' });
    expect(typeof read[0].position).toBe('number');
    expect(new Date(read[0].occurred_at).toISOString()).toBe(read[0].occurred_at);
    expect((await store.readStream('execution-a', 2)).map((e) => e.version)).toEqual([2]);
  });

  it('refuses an append whose expected version is stale, and stores nothing of it', async () => {
    await store.append('execution-b', 'execution', 0, [started('b')]);
    await expect(store.append('execution-b', 'execution', 0, [started('b')])).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    await expect(store.append('execution-b', 'execution', 2, [finished('b')])).rejects.toMatchObject({
      expected: 2,
      actual: 1,
    });
    expect(await store.readStream('execution-b')).toHaveLength(1);
    const [e] = await store.append('execution-b', 'execution', 1, [finished('b')]);
    // The refused appends gave their positions back.
    expect(e.position).toBe(2);
    expect((await store.readStream('execution-b')).map((x) => x.version)).toEqual([1, 2]);
  });

  it("appends with 'any' regardless of the stream's version", async () => {
    await store.append('s', 'execution', 'any', [started('x')]);
    await store.append('s', 'execution', 'any', [finished('x')]);
    expect((await store.readStream('s')).map((e) => e.version)).toEqual([1, 2]);
    expect(await store.append('s', 'execution', 'any', [])).toEqual([]);
  });

  it('reads everything after a position, in global order, with a limit', async () => {
    expect(await store.headPosition()).toBe(0);
    for (const id of ['1', '2', '3'])
      await store.append(`execution-${id}`, 'execution', 0, [started(id), finished(id)]);
    const all = await store.readAll(0);
    expect(all.map((e) => e.position)).toEqual([1, 2, 3, 4, 5, 6]);
    expect((await store.readAll(4)).map((e) => e.position)).toEqual([5, 6]);
    expect((await store.readAll(1, 2)).map((e) => e.position)).toEqual([2, 3]);
    expect(await store.headPosition()).toBe(6);
  });

  it('pages a filtered query without gaps or repeats, both directions', async () => {
    for (let i = 0; i < 7; i++) {
      await store.append(`execution-${i}`, 'execution', 0, [started(String(i), i % 2 ? 'odd' : 'even')], {
        tenantId: i % 2 ? 'odd' : 'even',
      });
    }
    const seen: number[] = [];
    let after: number | undefined = 0;
    while (after !== undefined) {
      const page = await store.query({ tenant_id: 'even', after_position: after, limit: 2 });
      seen.push(...page.events.map((e) => e.position));
      after = page.next ?? undefined;
    }
    expect(seen).toEqual([1, 3, 5, 7]);
    const desc = await store.query({ type: 'ExecutionStarted', order: 'desc', limit: 3 });
    expect(desc.events.map((e) => e.position)).toEqual([7, 6, 5]);
    expect(desc.next).toBe(5);
    const older = await store.query({
      type: 'ExecutionStarted',
      order: 'desc',
      before_position: 5,
      limit: 3,
    });
    expect(older.events.map((e) => e.position)).toEqual([4, 3, 2]);
  });

  it('filters by stream, stream type, types and time', async () => {
    await store.append('execution-q', 'execution', 0, [started('q'), finished('q')], { tenantId: 't1' });
    await store.append('session-q', 'session', 0, [reused('q')], { tenantId: 't2' });
    const ids = async (q: Parameters<EventStore['query']>[0]) =>
      (await store.query(q)).events.map((e) => e.position);
    expect(await ids({ stream_id: 'execution-q' })).toEqual([1, 2]);
    expect(await ids({ stream_type: 'session' })).toEqual([3]);
    expect(await ids({ types: ['ExecutionFinished', 'SessionReused'] })).toEqual([2, 3]);
    expect(await ids({ tenant_id: 't2', type: 'SessionReused' })).toEqual([3]);
    const [first] = await store.readAll(0, 1);
    expect(await ids({ from: first.occurred_at, to: '9999-01-01T00:00:00.000Z' })).toEqual([1, 2, 3]);
    expect(await ids({ to: first.occurred_at })).toEqual([]);
    expect(await ids({ types: [] })).toEqual([]);
  });

  it('keeps events across a reopen and lets two stores on one database race safely', async () => {
    await store.append('execution-r', 'execution', 0, [started('r')]);
    const other = await EventStore.open(target.options);
    try {
      await other.append('execution-r', 'execution', 1, [finished('r')]);
      await expect(store.append('execution-r', 'execution', 1, [finished('r')])).rejects.toBeInstanceOf(
        ConcurrencyError,
      );
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 ? store : other).append(`execution-p${i}`, 'execution', 0, [started(String(i))]),
        ),
      );
      expect(results.every((r) => r.status === 'fulfilled')).toBe(true);
      const positions = (await store.readAll(0)).map((e) => e.position);
      expect(positions).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    } finally {
      await other.close();
    }
    await store.close();
    store = await EventStore.open(target.options);
    expect(await store.readStream('execution-r')).toHaveLength(2);
  });

  it('scans every matching event across pages, in order, from a position on', async () => {
    // 1005 events in 67 appends of 15: more than one page of the scan.
    for (let i = 0; i < 67; i++) {
      const events = Array.from({ length: 15 }, (_, n) => reused(`${i}.${n}`));
      await store.append(`session-${i}`, 'session', 0, events, { tenantId: i % 2 ? 'odd' : 'even' });
    }
    const all: number[] = [];
    for await (const e of store.scan({ after_position: 3 })) all.push(e.position);
    expect(all).toEqual(Array.from({ length: 1002 }, (_, i) => i + 4));
    let odd = 0;
    for await (const e of store.scan({ tenant_id: 'odd' })) if (e.tenant_id === 'odd') odd++;
    expect(odd).toBe(33 * 15);
    expect(await store.headPosition()).toBe(1005);
  });

  it('records its migrations by name, as the stores made before did, and applies none twice', async () => {
    await store.append('session-m', 'session', 0, [reused('m')]);
    await store.close();
    store = await EventStore.open(target.options);
    await store.close();
    store = await EventStore.open(target.options);
    const readMigrations = async () => {
      if (driver === 'postgres') return queryOn(target.url(), 'SELECT name FROM migrations');
      const db = new Database((target.options as SqliteStoreOptions).path, { readonly: true });
      try {
        return db.prepare('SELECT name FROM migrations').all();
      } finally {
        db.close();
      }
    };
    const migrations = await readMigrations();
    expect(migrations).toEqual([{ name: 'CreateEvents1764150000000' }]);
    expect(await store.readStream('session-m')).toHaveLength(1);
  });

  it('answers ping on a healthy store', async () => {
    await expect(store.ping()).resolves.toBeUndefined();
  });
});

describe('EventStore on sqlite: a held lock', () => {
  let target: TestStoreTarget;
  beforeEach(async () => (target = await createTarget('sqlite')));
  afterEach(() => target.remove());

  it('says the store is unavailable, and stores nothing, while another writer holds the lock', async () => {
    const { path } = target.options as SqliteStoreOptions;
    const store = await EventStore.open({ path });
    const impatient = await EventStore.open({ path, busyTimeoutMs: 50 });
    const holder = new Database(path);
    try {
      holder.prepare('BEGIN EXCLUSIVE').run();
      await expect(impatient.append('execution-l', 'execution', 0, [started('l')])).rejects.toMatchObject({
        name: 'EventStoreUnavailableError',
        code: 'EVENT_STORE_UNAVAILABLE',
        driverCode: 'SQLITE_BUSY',
      });
      await expect(impatient.ping()).rejects.toBeInstanceOf(EventStoreUnavailableError);
      holder.prepare('ROLLBACK').run();
      // Fixed: the same connection writes again.
      await impatient.append('execution-l', 'execution', 0, [started('l')]);
      expect(await store.readStream('execution-l')).toHaveLength(1);
    } finally {
      holder.close();
      await impatient.close();
      await store.close();
    }
  });
});
