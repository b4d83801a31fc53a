import type { NatsConnection } from 'nats';

/**
 * Whether a nats.js connection can send now. nats.js 2 drops what is published while it is
 * disconnected (it empties its buffer when it dials the next server), so a reply, a request or
 * an event that must arrive waits for the reconnect instead (see `whenConnected`).
 */
export function isConnected(nc: NatsConnection): boolean {
  if (nc.isClosed()) return false;
  const protocol = (nc as unknown as { protocol?: { connected?: boolean } }).protocol;
  return protocol?.connected ?? true;
}

/** Resolves true once the connection can send, false when it closed or `maxWaitMs` passed. */
export async function whenConnected(nc: NatsConnection, maxWaitMs: number): Promise<boolean> {
  const deadline = Date.now() + maxWaitMs;
  while (!isConnected(nc)) {
    if (nc.isClosed() || Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}
