/**
 * Asks the running metrics app to rebuild its projection from position 0, and prints the
 * position it reached. `npm run metrics:rebuild` (NATS_URL says where, default 127.0.0.1:4222).
 */
import { connect, JSONCodec } from 'nats';
import { readArgs } from './lib/cli-args';

async function main(): Promise<void> {
  readArgs(process.argv.slice(2), {});
  const nc = await connect({ servers: (process.env.NATS_URL ?? 'nats://127.0.0.1:4222').split(',') });
  const jc = JSONCodec();
  const subject = 'executor.metrics.rebuild';
  try {
    // The packet shape @nestjs/microservices expects of a request.
    const reply = await nc.request(
      subject,
      jc.encode({ pattern: subject, data: {}, id: String(Date.now()) }),
      { timeout: 120000 },
    );
    const body = jc.decode(reply.data) as { response?: { position: number }; err?: unknown };
    if (body.err) throw new Error(JSON.stringify(body.err));
    console.log(`metrics projection rebuilt up to position ${body.response?.position}`);
  } finally {
    await nc.close();
  }
}

main().catch((err: unknown) => {
  console.error(`rebuild failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
