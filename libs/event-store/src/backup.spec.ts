import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewEvent } from '@executor/contracts';
import { backupStore, checkStore, restoreStore } from './backup';
import { EventStore } from './event-store';
import { createTarget, DRIVERS, postgresMissing, type TestStoreTarget } from './testing/test-stores';

const reused = (id: string): NewEvent => ({ type: 'SessionReused', data: { session_id: id } });

/** An execution that starts and never ends: the integrity check names it. */
const startedRun = (executionId: string): NewEvent => ({
  type: 'ExecutionStarted',
  data: {
    execution_id: executionId,
    tenant_id: 't',
    scope: 's',
    template: 'default',
    language: 'python',
    runner_id: 'r',
    code_bytes: 1,
    code_sha256: 'x',
    files_count: 0,
    files_bytes: 0,
    timeout_s: 1,
  },
});

describe('backup and restore of the event store (real SQLite files)', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'store-backup-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('copies a live store at one point in time and puts it back, keeping what it replaced', async () => {
    const path = join(dir, 'events.sqlite');
    const store = await EventStore.open({ path });
    try {
      for (let i = 0; i < 50; i++) await store.append(`session-${i % 5}`, 'session', 'any', [reused(`${i}`)]);
      // Taken while the store is open, as it would be in production.
      const report = await backupStore(path, join(dir, 'backups', 'b1.sqlite'));
      expect(report).toMatchObject({ ok: true, events: 50, head: 50 });
      await expect(backupStore(path, join(dir, 'backups', 'b1.sqlite'))).rejects.toThrow(/exists/);
      for (let i = 0; i < 10; i++) await store.append('session-x', 'session', 'any', [reused(`x${i}`)]);
      expect(await store.headPosition()).toBe(60);
    } finally {
      await store.close();
    }

    const { report, previous } = await restoreStore(join(dir, 'backups', 'b1.sqlite'), path, {
      now: new Date(0),
    });
    expect(report.ok).toBe(true);
    expect(previous).toBe(`${path}.before-restore-1970-01-01T00-00-00-000Z`);
    expect(await checkStore(path)).toMatchObject({ ok: true, events: 50 });
    expect(await checkStore(previous!)).toMatchObject({ ok: true, events: 60 });

    // The restored store takes writes at the next position.
    const reopened = await EventStore.open({ path });
    try {
      const [e] = await reopened.append('session-y', 'session', 0, [reused('y')]);
      expect(e.position).toBe(51);
    } finally {
      await reopened.close();
    }
  });

  it('refuses a missing backup and one that fails the check, unless forced', async () => {
    await expect(restoreStore(join(dir, 'none.sqlite'), join(dir, 't.sqlite'))).rejects.toThrow(/no backup/);
    const bad = join(dir, 'bad.sqlite');
    const store = await EventStore.open({ path: bad });
    try {
      await store.append('execution-a', 'execution', 0, [startedRun('a')]);
    } finally {
      await store.close();
    }
    await expect(restoreStore(bad, join(dir, 't.sqlite'))).rejects.toThrow(/integrity/);
    expect(existsSync(join(dir, 't.sqlite'))).toBe(false);
    await expect(restoreStore(bad, join(dir, 't.sqlite'), { force: true })).resolves.toMatchObject({
      previous: null,
    });
  });
});

describe.each(DRIVERS)('checkStore on %s', (driver) => {
  if (postgresMissing(driver)) return;
  let target: TestStoreTarget;
  beforeEach(async () => (target = await createTarget(driver)));
  afterEach(() => target.remove());

  it('passes a complete log and names an execution that never finished', async () => {
    const store = await EventStore.open(target.options);
    try {
      for (let i = 0; i < 30; i++) await store.append(`session-${i % 3}`, 'session', 'any', [reused(`${i}`)]);
      expect(await checkStore(target.options)).toMatchObject({ ok: true, events: 30, head: 30 });
      await store.append('execution-u', 'execution', 0, [startedRun('u')]);
      expect(await checkStore(target.options)).toMatchObject({
        ok: false,
        events: 31,
        position_gaps: [],
        unfinished_executions: ['execution-u'],
      });
    } finally {
      await store.close();
    }
  });
});
