import { natsPerTest } from './testing/nats-per-test';

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('NatsLink on a real nats-server', () => {
  const nats = natsPerTest('nats-link-spec');

  it('is connected once open, and waits for nothing then', async () => {
    expect(nats.link.connected).toBe(true);
    await expect(nats.link.whenConnected(0)).resolves.toBe(true);
  });

  it('follows a dropped server from the status events, and wakes waiters on the reconnect', async () => {
    await nats.server.kill();
    await eventually(() => !nats.link.connected, 'the link saw the disconnect');
    await expect(nats.link.whenConnected(50)).resolves.toBe(false);
    const waiting = nats.link.whenConnected(10000);
    await nats.server.restart();
    await expect(waiting).resolves.toBe(true);
    expect(nats.link.connected).toBe(true);
    // And it can send again: a round trip through the server.
    await nats.link.connection.flush();
  });

  it('is not connected once closed, and a waiter then gives up at once', async () => {
    await nats.server.kill();
    await eventually(() => !nats.link.connected, 'the link saw the disconnect');
    const waiting = nats.link.whenConnected(10000);
    const t0 = Date.now();
    await nats.link.close();
    await expect(waiting).resolves.toBe(false);
    expect(Date.now() - t0).toBeLessThan(2000);
    await expect(nats.link.whenConnected(1000)).resolves.toBe(false);
  });
});
