import { natsConnectionOptions } from '../nats.module';
import { NatsLink } from '../nats-link';
import { TestNatsServer } from './nats-server';

/** What natsPerTest hands each test: its own nats-server and a link to it. */
export interface NatsPerTest {
  server: TestNatsServer;
  link: NatsLink;
}

/**
 * Gives every test of the describe block that calls it a fresh nats-server and a NatsLink
 * (named `connectionName`) to it, both gone after the test.
 */
export function natsPerTest(connectionName: string): NatsPerTest {
  const nats = {} as NatsPerTest;
  beforeEach(async () => {
    nats.server = await TestNatsServer.start();
    nats.link = await NatsLink.connect(natsConnectionOptions(nats.server.url, connectionName));
  });
  afterEach(async () => {
    await nats.link.close();
    await nats.server.kill();
  });
  return nats;
}
