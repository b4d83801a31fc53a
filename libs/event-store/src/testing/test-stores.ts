import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventStoreOptions } from '../options';
import { connect, createDatabase, dropAbandonedDatabases, queryOn } from './postgres';

export { connect, queryOn };

/**
 * Where the PostgreSQL tests run: a role that may create databases (scripts/test.sh exports
 * the one scripts/setup.sh makes). Each test file gets a throw-away database and each test a
 * schema in it, so runs and tests never see each other's events.
 */
export const TEST_POSTGRES_URL = process.env.EXECUTOR_TEST_POSTGRES_URL ?? '';
const POSTGRES_REQUIRED = process.env.EXECUTOR_REQUIRE_POSTGRES === '1';

export type Driver = 'sqlite' | 'postgres';
export const DRIVERS: Driver[] = ['sqlite', 'postgres'];

/**
 * Stands in for a PostgreSQL block that has no server: a failing test when
 * EXECUTOR_REQUIRE_POSTGRES=1 (CI must not pass by skipping), a skipped one otherwise.
 * Returns true when the block should declare nothing else.
 */
export function postgresMissing(driver: Driver): boolean {
  if (driver !== 'postgres' || TEST_POSTGRES_URL) return false;
  if (POSTGRES_REQUIRED) {
    it('has a PostgreSQL server to run against', () => {
      throw new Error(
        'EXECUTOR_REQUIRE_POSTGRES=1 but EXECUTOR_TEST_POSTGRES_URL is not set: run scripts/setup.sh and export it (scripts/test.sh does)',
      );
    });
  } else {
    it.skip('runs only with EXECUTOR_TEST_POSTGRES_URL set (scripts/test.sh sets it after setup)', () => {});
  }
  return true;
}

/** A fresh, empty place for a store: a temp SQLite file, or a new PostgreSQL schema. */
export interface TestStoreTarget {
  /** Options to open a store there (more than one store may be opened on it). */
  options: EventStoreOptions;
  /** PostgreSQL: the URL with extra server settings (`-c name=value …`) for its sessions. */
  url(settings?: string): string;
  remove(): Promise<void>;
}

/**
 * This test file's PostgreSQL database, made on first use and dropped after the file: a
 * database per file keeps parallel files (and other runs) apart; a schema per test keeps the
 * tests apart and costs a millisecond where a database costs a few hundred.
 */
let fileDatabase: ReturnType<typeof createDatabase> | null = null;
afterAll(async () => {
  if (!fileDatabase) return;
  const database = await fileDatabase;
  fileDatabase = null;
  await database.drop();
});

/** The URL of a database with extra server settings (`-c name=value …`) for its sessions. */
function withSettings(databaseUrl: string, settings: string): string {
  const url = new URL(databaseUrl);
  if (settings) url.searchParams.set('options', settings);
  return url.toString();
}

export async function createTarget(driver: Driver): Promise<TestStoreTarget> {
  if (driver === 'sqlite') {
    const dir = mkdtempSync(join(tmpdir(), 'event-store-spec-'));
    return {
      options: { path: join(dir, 'nested', 'events.sqlite') },
      url: () => {
        throw new Error('a SQLite target has no URL');
      },
      remove: () => Promise.resolve(rmSync(dir, { recursive: true, force: true })),
    };
  }
  fileDatabase ??= dropAbandonedDatabases().then(createDatabase);
  const database = await fileDatabase;
  const schema = `t_${randomBytes(6).toString('hex')}`;
  await queryOn(database.url, `CREATE SCHEMA "${schema}"`);
  const url = (settings = '') => withSettings(database.url, `-c search_path=${schema} ${settings}`.trim());
  return {
    options: { url: url() },
    url,
    remove: () => queryOn(database.url, `DROP SCHEMA "${schema}" CASCADE`).then(() => undefined),
  };
}
