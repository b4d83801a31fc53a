/**
 * Prints the events published on `executor.events.>` as JSON lines, filtered. With
 * `--from <position>` it first prints what the store holds from there on, so an auditor who was
 * offline misses nothing; live events are then printed once each, in order of position.
 *
 *   npm run events:tail -- --type SessionCreated --tenant t1 [--stream session-<id>] [--from 0]
 *
 * NATS_URL and EVENT_STORE_URL or EVENT_STORE_PATH say where, as for the services (defaults:
 * nats://127.0.0.1:4222, .executor/events.sqlite).
 */
import { connect } from 'nats';
import type { EventEnvelope } from '../libs/contracts/src/events';
import { EventStore } from '../libs/event-store/src/event-store';
import { eventStoreOptionsFromEnv } from '../libs/common/src/event-store-config';
import { readArgs } from './lib/cli-args';

async function main(): Promise<void> {
  const { values: args } = readArgs(process.argv.slice(2), {
    type: 'string',
    tenant: 'string',
    stream: 'string',
    from: 'integer',
  });
  const matches = (e: EventEnvelope) =>
    (!args.type || e.type === args.type) &&
    (!args.tenant || e.tenant_id === args.tenant) &&
    (!args.stream || e.stream_id === args.stream);
  let last = args.from ?? Number.MAX_SAFE_INTEGER;
  const print = (e: EventEnvelope) => {
    if (matches(e)) process.stdout.write(JSON.stringify(e) + '\n');
  };

  const nc = await connect({
    servers: (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(','),
    maxReconnectAttempts: -1,
  });
  const sub = nc.subscribe('executor.events.>');
  const buffered: EventEnvelope[] = [];
  let live = args.from === undefined;
  const store = args.from !== undefined ? await EventStore.open(eventStoreOptionsFromEnv()) : null;

  const catchUp = async () => {
    if (!store) return;
    for await (const e of store.scan({ after_position: last })) {
      print(e);
      last = e.position;
    }
  };

  void (async () => {
    for await (const m of sub) {
      const e = JSON.parse(new TextDecoder().decode(m.data)) as EventEnvelope;
      if (!live) buffered.push(e);
      else if (store && e.position > last + 1) {
        await catchUp(); // a gap: the store has the exact sequence
      } else if (!store || e.position > last) {
        print(e);
        if (store) last = e.position;
      }
    }
  })();

  await catchUp();
  for (const e of buffered.sort((a, b) => a.position - b.position)) {
    if (e.position > last) {
      print(e);
      last = e.position;
    }
  }
  live = true;
  const stop = () => {
    void nc
      .close()
      .then(() => store?.close())
      .then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
