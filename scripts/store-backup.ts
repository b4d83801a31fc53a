/**
 * Online backup of the event store (the services may keep running), checked afterwards.
 *
 *   npm run store:backup                        # to .executor/backups/events-<time>.sqlite
 *   npm run store:backup -- /path/to/copy.sqlite
 *
 * EVENT_STORE_PATH names the store (default .executor/events.sqlite). Exits 1 when the copy
 * fails the integrity check (the copy is kept, to look at). SQLite only: with EVENT_STORE_URL
 * set it exits 2 and points at pg_dump.
 */
import { join } from 'node:path';
import { backupStore } from '../libs/event-store/src/backup';
import { readArgs } from './lib/cli-args';
import { sqliteStoreFromEnv } from './lib/sqlite-store';

const source = sqliteStoreFromEnv('pg_dump').path;
const stamp = new Date().toISOString().replace(/[:.]/g, '-');
let destination: string;
try {
  destination = readArgs(process.argv.slice(2), {}, { positionals: 1 }).positionals[0] ?? defaultFile();
} catch (err) {
  console.error(
    `${err instanceof Error ? err.message : String(err)}\nusage: npm run store:backup [-- <file>]`,
  );
  process.exit(2);
}

function defaultFile(): string {
  return join('.executor', 'backups', `events-${stamp}.sqlite`);
}

backupStore(source, destination)
  .then((report) => {
    console.log(JSON.stringify({ backup: destination, ...report }, null, 2));
    process.exit(report.ok ? 0 : 1);
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  });
