import { createServer } from 'node:net';
import type { NewEvent } from '@executor/contracts';
import { ConcurrencyError, EventStoreUnavailableError } from './errors';
import { EventStore } from './event-store';
import {
  connect,
  createTarget,
  postgresMissing,
  queryOn,
  TEST_POSTGRES_URL,
  type TestStoreTarget,
} from './testing/test-stores';

// PostgreSQL only: what SQLite's one file lock makes moot (the suite both drivers pass is in
// event-store.spec.ts). Each test gets a schema of its own in this file's throw-away database.

const reused = (id: string): NewEvent => ({ type: 'SessionReused', data: { session_id: id } });

describe('EventStore on postgres: concurrency, failures, migration', () => {
  if (postgresMissing('postgres')) return;
  let target: TestStoreTarget;
  let store: EventStore;
  let other: EventStore;

  beforeEach(async () => {
    target = await createTarget('postgres');
    // Two stores, two pools: as two processes would be.
    [store, other] = [await EventStore.open(target.options), await EventStore.open(target.options)];
  });

  afterEach(async () => {
    await Promise.all([store.close(), other.close()]);
    await target.remove();
  });

  it('lets exactly one of two stores win each round on one stream', async () => {
    for (let round = 0; round < 25; round++) {
      const results = await Promise.allSettled([
        store.append('session-race', 'session', round, [reused(`a${round}`)]),
        other.append('session-race', 'session', round, [reused(`b${round}`)]),
      ]);
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      const lost = results.find((r) => r.status === 'rejected');
      expect(lost?.reason).toBeInstanceOf(ConcurrencyError);
      expect(lost?.reason).toMatchObject({ expected: round, actual: round + 1 });
    }
    const events = await store.readStream('session-race');
    expect(events.map((e) => e.version)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
    expect(events.map((e) => e.position)).toEqual(Array.from({ length: 25 }, (_, i) => i + 1));
  });

  it('gives concurrent appends to many streams contiguous positions that readers see in order', async () => {
    const appends = 120;
    let done = false;
    // A reader paging by position must never see a position before every smaller one.
    const reader = async (from: EventStore) => {
      let last = 0;
      const seen: number[] = [];
      while (!done || last < (await from.headPosition())) {
        for (const e of await from.readAll(last, 50)) {
          if (e.position !== last + 1) throw new Error(`reader skipped from ${last} to ${e.position}`);
          seen.push(e.position);
          last = e.position;
        }
      }
      return seen;
    };
    const readers = [reader(store), reader(other)].map((r) => r.catch((err: Error) => err.message));
    const results = await Promise.all(
      Array.from({ length: appends }, (_, i) =>
        (i % 2 ? store : other).append(
          `session-${i % 40}`,
          'session',
          'any',
          Array.from({ length: 1 + (i % 3) }, (_, n) => reused(`${i}.${n}`)),
        ),
      ),
    ).finally(() => (done = true));
    const total = results.reduce((n, r) => n + r.length, 0);
    const all = Array.from({ length: total }, (_, i) => i + 1);
    // What the appenders were told, what is stored and what every reader saw: 1..N exactly.
    expect(
      results
        .flat()
        .map((e) => e.position)
        .sort((a, b) => a - b),
    ).toEqual(all);
    expect((await store.readAll(0)).map((e) => e.position)).toEqual(all);
    for (const seen of await Promise.all(readers)) expect(seen).toEqual(all);
    // Every append's events are adjacent and versions run 1, 2, … per stream.
    for (const r of results) expect(r.map((e) => e.position - r[0].position)).toEqual(r.map((_, i) => i));
    for (let s = 0; s < 40; s++) {
      const versions = (await store.readStream(`session-${s}`)).map((e) => e.version);
      expect(versions).toEqual(versions.map((_, i) => i + 1));
    }
  });

  it('makes an append wait for an earlier one that holds positions but has not committed', async () => {
    const holder = await connect(target.url());
    const waiting = async (n: number) => {
      for (let i = 0; i < 100; i++) {
        const { rows } = await holder.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        );
        if (rows[0].n >= n) return;
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    try {
      // An uncommitted row with the (stream, version) the first append will write: its INSERT
      // waits on that row after it took position 1.
      await holder.query('BEGIN');
      await holder.query(
        `INSERT INTO events (position, id, stream_id, stream_type, version, type, occurred_at, data)
         VALUES (1000000, 'held', 'session-first', 'session', 1, 'SessionReused', '', '{}')`,
      );
      const first = store.append('session-first', 'session', 0, [reused('1')]);
      await waiting(1);
      const second = other.append('session-second', 'session', 0, [reused('2')]);
      await waiting(2);
      // Had the second committed now, a reader at position 0 would see 2 and later miss 1.
      expect(await store.readAll(0)).toEqual([]);
      await holder.query('ROLLBACK');
      const [[a], [b]] = await Promise.all([first, second]);
      expect([a.position, b.position]).toEqual([1, 2]);
    } finally {
      await holder.end();
    }
  });

  it('leaves no gap when an append fails after it took its positions', async () => {
    await store.append('session-ok', 'session', 0, [reused('1')]);
    // Too long for varchar(200): the INSERT fails after the head moved; the rollback moves it back.
    await expect(store.append('x'.repeat(201), 'session', 0, [reused('2'), reused('3')])).rejects.toThrow(
      /too long/,
    );
    await expect(other.append('session-ok', 'session', 0, [reused('4')])).rejects.toBeInstanceOf(
      ConcurrencyError,
    );
    const [e] = await other.append('session-ok', 'session', 1, [reused('5')]);
    expect(e.position).toBe(2);
    expect((await store.readAll(0)).map((x) => x.position)).toEqual([1, 2]);
    expect(await queryOn(target.url(), 'SELECT head FROM event_head')).toEqual([{ head: '2' }]);
  });

  it('says the store is unavailable while the append lock is held past the timeout, and pings anyway', async () => {
    const impatient = await EventStore.open({ ...target.options, busyTimeoutMs: 50 });
    const holder = await connect(target.url());
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT head FROM event_head FOR UPDATE');
      await expect(impatient.append('session-l', 'session', 0, [reused('l')])).rejects.toMatchObject({
        name: 'EventStoreUnavailableError',
        code: 'EVENT_STORE_UNAVAILABLE',
        driverCode: '55P03',
      });
      // ping neither writes nor waits for the lock.
      await expect(impatient.ping()).resolves.toBeUndefined();
      await holder.query('ROLLBACK');
      const [e] = await impatient.append('session-l', 'session', 0, [reused('l')]);
      expect(e.position).toBe(1);
    } finally {
      await holder.end();
      await impatient.close();
    }
  });

  it('maps a backend killed mid-append to unavailable, rolls it back and recovers', async () => {
    const holder = await connect(target.url());
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT head FROM event_head FOR UPDATE');
      // Its outcome, caught now: it fails while the loop below is still running.
      const outcome = store.append('session-k', 'session', 0, [reused('k')]).then(
        () => null,
        (e: unknown) => e,
      );
      // The append waits for the lock; kill its backend.
      let killed = 0;
      for (let i = 0; i < 100 && killed === 0; i++) {
        await new Promise((r) => setTimeout(r, 20));
        const rows = await holder.query<{ ok: boolean }>(
          `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`,
        );
        killed = rows.rows.length;
      }
      expect(killed).toBe(1);
      const err = await outcome;
      expect(err).toBeInstanceOf(EventStoreUnavailableError);
      expect(['57P01', 'CONNECTION_LOST', 'ECONNRESET']).toContain(
        (err as EventStoreUnavailableError).driverCode,
      );
      await holder.query('ROLLBACK');
      // The pool drops the dead connection; the next append takes position 1.
      const [e] = await store.append('session-k', 'session', 0, [reused('k')]);
      expect(e.position).toBe(1);
    } finally {
      await holder.end();
    }
  });

  it('refuses writes and fails ping on a read-only database', async () => {
    await store.append('session-ro', 'session', 0, [reused('1')]);
    // As a database set read-only (or a standby) answers: 25006 on every write.
    const readOnly = await EventStore.open({ url: target.url('-c default_transaction_read_only=on') });
    try {
      await expect(readOnly.ping()).rejects.toMatchObject({ driverCode: '25006' });
      await expect(readOnly.append('session-ro', 'session', 1, [reused('2')])).rejects.toMatchObject({
        name: 'EventStoreUnavailableError',
        driverCode: '25006',
      });
      expect(await readOnly.readStream('session-ro')).toHaveLength(1);
    } finally {
      await readOnly.close();
    }
  });

  it('migrates a fresh schema once when three stores open it at the same time', async () => {
    const fresh = await createTarget('postgres');
    const stores = await Promise.all([1, 2, 3].map(() => EventStore.open(fresh.options)));
    try {
      expect(await queryOn(fresh.url(), 'SELECT name FROM migrations')).toEqual([
        { name: 'CreateEvents1764150000000' },
      ]);
      expect(await queryOn(fresh.url(), 'SELECT head FROM event_head')).toEqual([{ head: '0' }]);
      await Promise.all(stores.map((s, i) => s.append(`session-${i}`, 'session', 0, [reused(`${i}`)])));
      expect((await stores[0].readAll(0)).map((e) => e.position)).toEqual([1, 2, 3]);
    } finally {
      await Promise.all(stores.map((s) => s.close()));
      await fresh.remove();
    }
  });
});

describe('EventStore on postgres: a server that is not there', () => {
  if (postgresMissing('postgres')) return;

  it('fails to open with EventStoreUnavailableError, and the message carries no password', async () => {
    const port = await new Promise<number>((resolve) => {
      const srv = createServer().listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as { port: number };
        srv.close(() => resolve(port));
      });
    });
    const url = new URL(TEST_POSTGRES_URL);
    url.port = String(port);
    url.password = 'sekret-password';
    const err = await EventStore.open({ url: url.toString() }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(EventStoreUnavailableError);
    expect(err).toMatchObject({ driverCode: 'ECONNREFUSED', code: 'EVENT_STORE_UNAVAILABLE' });
    expect(String((err as Error).message)).not.toContain('sekret');
  });
});
