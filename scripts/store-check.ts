/**
 * Integrity check of the event store: positions contiguous, versions contiguous per stream,
 * every ExecutionStarted has its ExecutionFinished. Prints a JSON report; exits 1 on a problem.
 *
 *   npm run store:check                       # EVENT_STORE_PATH, default .executor/events.sqlite
 */
import { EventStore } from '../libs/event-store/src/event-store';
import { IntegrityCheck } from '../libs/event-store/src/integrity';

async function main(): Promise<void> {
  const store = await EventStore.open({ path: process.env.EVENT_STORE_PATH ?? '.executor/events.sqlite' });
  const check = new IntegrityCheck();
  try {
    for await (const e of store.scan()) check.add(e);
  } finally {
    await store.close();
  }
  const report = check.finish();
  console.log(JSON.stringify(report, null, 2));
  process.exit(report.ok ? 0 : 1);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(2);
});
