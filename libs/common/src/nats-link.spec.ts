import { natsConnectionOptions } from './nats.module';
import { NatsLink } from './nats-link';
import { TestNatsServer } from './testing/nats-server';

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('NatsLink on a real nats-server', () => {
  let server: TestNatsServer;
  let link: NatsLink;

  beforeEach(async () => {
    server = await TestNatsServer.start();
    link = await NatsLink.connect(natsConnectionOptions(server.url, 'nats-link-spec'));
  });

  afterEach(async () => {
    await link.close();
    await server.kill();
  });

  it('is connected once open, and waits for nothing then', async () => {
    expect(link.connected).toBe(true);
    await expect(link.whenConnected(0)).resolves.toBe(true);
  });

  it('follows a dropped server from the status events, and wakes waiters on the reconnect', async () => {
    await server.kill();
    await eventually(() => !link.connected, 'the link saw the disconnect');
    await expect(link.whenConnected(50)).resolves.toBe(false);
    const waiting = link.whenConnected(10000);
    await server.restart();
    await expect(waiting).resolves.toBe(true);
    expect(link.connected).toBe(true);
    // And it can send again: a round trip through the server.
    await link.connection.flush();
  });

  it('is not connected once closed, and a waiter then gives up at once', async () => {
    await server.kill();
    await eventually(() => !link.connected, 'the link saw the disconnect');
    const waiting = link.whenConnected(10000);
    const t0 = Date.now();
    await link.close();
    await expect(waiting).resolves.toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
    await expect(link.whenConnected(1000)).resolves.toBe(false);
  });
});
