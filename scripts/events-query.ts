/**
 * Admin query of the event store from the command line, as GET /admin/events does it.
 * Prints JSON lines, then `{"next": <position|null>}` on stderr for the next page.
 *
 *   npm run events:query -- --type SessionCreated --tenant t1 --limit 50 --order desc
 *   npm run events:query -- --stream session-<id>
 *
 * EVENT_STORE_URL (PostgreSQL) or EVENT_STORE_PATH (SQLite, default .executor/events.sqlite)
 * names the store, as for the services.
 */
import { EventStore } from '../libs/event-store/src/event-store';
import { eventStoreOptionsFromEnv } from '../libs/common/src/event-store-config';
import { readArgs } from './lib/cli-args';

async function main(): Promise<void> {
  const { values: a } = readArgs(process.argv.slice(2), {
    stream: 'string',
    type: 'string',
    tenant: 'string',
    'stream-type': 'string',
    from: 'string',
    to: 'string',
    after: 'integer',
    before: 'integer',
    limit: 'integer',
    order: 'string',
  });
  if (a.order !== undefined && a.order !== 'asc' && a.order !== 'desc')
    throw new Error('--order is asc or desc');
  const store = await EventStore.open(eventStoreOptionsFromEnv());
  try {
    const page = await store.query({
      stream_id: a.stream,
      type: a.type,
      tenant_id: a.tenant,
      stream_type: a['stream-type'],
      from: a.from,
      to: a.to,
      after_position: a.after,
      before_position: a.before,
      limit: a.limit ?? 100,
      order: a.order === 'desc' ? 'desc' : 'asc',
    });
    for (const e of page.events) process.stdout.write(JSON.stringify(e) + '\n');
    process.stderr.write(JSON.stringify({ next: page.next }) + '\n');
  } finally {
    await store.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
