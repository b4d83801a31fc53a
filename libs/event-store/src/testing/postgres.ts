import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * Throw-away PostgreSQL databases for tests and benchmarks, on the server scripts/setup.sh runs
 * (scripts/test.sh exports its URL as EXECUTOR_TEST_POSTGRES_URL): the unit tests' store
 * targets, the e2e stacks, `npm run bench:scale`. One naming scheme,
 * `executor_test_<epoch seconds>_<hex>`, so one a killed run leaves behind is found and dropped.
 */
const TEST_DATABASE = '^executor_test_[0-9]+_[0-9a-f]+$';

/** A connection of its own, for holding locks and the like. */
export async function connect(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** Rows of one statement, through a connection of its own. */
export async function queryOn<T extends object = Record<string, unknown>>(
  url: string,
  sql: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = await connect(url);
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

function adminUrl(): string {
  const admin = process.env.EXECUTOR_TEST_POSTGRES_URL;
  if (!admin)
    throw new Error('EXECUTOR_TEST_POSTGRES_URL is not set (npm test sets it after scripts/setup.sh)');
  return admin;
}

/** A new, empty database; `drop` removes it even while connections are open. */
export async function createDatabase(): Promise<{ name: string; url: string; drop: () => Promise<void> }> {
  const admin = adminUrl();
  const name = `executor_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  await queryOn(admin, `CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    drop: () => queryOn(admin, `DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).then(() => undefined),
  };
}

/** Test databases a killed run left behind (an hour old, no one connected): dropped. */
export async function dropAbandonedDatabases(): Promise<void> {
  const admin = adminUrl();
  const rows = await queryOn<{ datname: string }>(
    admin,
    `SELECT datname FROM pg_database WHERE datname ~ '${TEST_DATABASE}'`,
  );
  const hourAgo = Date.now() / 1000 - 3600;
  for (const { datname } of rows) {
    if (Number(datname.split('_')[2]) > hourAgo) continue;
    // Without FORCE: a database still in use stays.
    await queryOn(admin, `DROP DATABASE IF EXISTS "${datname}"`).catch(() => undefined);
  }
}
