import { randomBytes } from 'node:crypto';
import { Client } from 'pg';

/**
 * A throw-away PostgreSQL database for an e2e stack or a benchmark, on the server scripts/setup.sh runs
 * (scripts/test.sh exports EXECUTOR_TEST_POSTGRES_URL and EXECUTOR_REQUIRE_POSTGRES=1). Named
 * like the unit tests' databases, so one a killed run leaves behind is dropped by them later.
 */
export async function createDatabase(): Promise<{ url: string; drop: () => Promise<void> }> {
  const admin = process.env.EXECUTOR_TEST_POSTGRES_URL;
  if (!admin)
    throw new Error('EXECUTOR_TEST_POSTGRES_URL is not set (npm test sets it after scripts/setup.sh)');
  const name = `executor_test_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
  const query = async (sql: string) => {
    const client = new Client({ connectionString: admin });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await query(`CREATE DATABASE "${name}"`);
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`) };
}
