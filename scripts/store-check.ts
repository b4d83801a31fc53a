/**
 * Integrity check of the event store: positions contiguous, versions contiguous per stream,
 * every ExecutionStarted has its ExecutionFinished or an ExecutionLost marker. Prints a JSON
 * report; exits 1 on a problem, 2 when the store cannot be read.
 *
 *   npm run store:check     # EVENT_STORE_URL (PostgreSQL) or EVENT_STORE_PATH (SQLite, default .executor/events.sqlite)
 */
import { checkStore } from '../libs/event-store/src/backup';
import { eventStoreOptionsFromEnv } from '../libs/common/src/event-store-config';
import { readArgs } from './lib/cli-args';

Promise.resolve()
  .then(() => readArgs(process.argv.slice(2), {}))
  .then(() => checkStore(eventStoreOptionsFromEnv()))
  .then((report) => {
    console.log(JSON.stringify(report, null, 2));
    process.exit(report.ok ? 0 : 1);
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(2);
  });
