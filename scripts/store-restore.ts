/**
 * Puts a backup in place of the event store. Stop the stack first (the services hold state
 * read from the store); start it again afterwards: the metrics projection sees a store behind
 * its checkpoint and rebuilds itself.
 *
 *   npm run store:restore -- /path/to/backup.sqlite [--force]
 *
 * The backup must pass the integrity check (or --force). The replaced store is kept as
 * `<store>.before-restore-<time>`. SQLite only: with EVENT_STORE_URL set it exits 2 and points
 * at pg_restore.
 */
import { restoreStore } from '../libs/event-store/src/backup';
import { readArgs } from './lib/cli-args';
import { sqliteStoreFromEnv } from './lib/sqlite-store';

const USAGE = 'usage: npm run store:restore -- <backup.sqlite> [--force]';
let args: ReturnType<typeof readRestoreArgs>;
try {
  args = readRestoreArgs();
} catch (err) {
  console.error(`${err instanceof Error ? err.message : String(err)}\n${USAGE}`);
  process.exit(2);
}
const [backup] = args.positionals;
if (!backup) {
  console.error(USAGE);
  process.exit(2);
}

function readRestoreArgs() {
  return readArgs(process.argv.slice(2), { force: 'boolean' }, { positionals: 1 });
}
const target = sqliteStoreFromEnv('pg_restore').path;

restoreStore(backup, target, { force: args.values.force ?? false })
  .then(({ report, previous }) => {
    console.log(JSON.stringify({ restored: target, from: backup, previous, ...report }, null, 2));
  })
  .catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
