import { connect, Events, type ConnectionOptions, type NatsConnection } from 'nats';

/**
 * A NATS connection this process opened and owns, and whether it can send now, followed from
 * the client's status events (`disconnect`, `reconnect`). nats.js 2 drops what is published
 * while it is disconnected (it empties its buffer when it dials the next server), so a reply,
 * a request or an event that must arrive waits for the reconnect (`whenConnected`).
 */
export class NatsLink {
  private up = true;
  private readonly waiting = new Set<() => void>();

  private constructor(readonly connection: NatsConnection) {
    // Called before anything is awaited: no status event can be missed.
    void this.follow();
    void connection.closed().then(() => this.wake());
  }

  static async connect(options: ConnectionOptions): Promise<NatsLink> {
    return new NatsLink(await connect(options));
  }

  /** Whether the connection can send now. */
  get connected(): boolean {
    return this.up && !this.connection.isClosed();
  }

  /** Resolves true once the connection can send, false when it closed or `maxWaitMs` passed. */
  whenConnected(maxWaitMs: number): Promise<boolean> {
    if (this.connected) return Promise.resolve(true);
    if (this.connection.isClosed() || maxWaitMs <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiting.delete(done);
        resolve(this.connected);
      };
      const timer = setTimeout(done, maxWaitMs);
      this.waiting.add(done);
    });
  }

  /** Sends what is buffered, then closes (subscriptions drain first). */
  async drain(): Promise<void> {
    if (!this.connection.isClosed()) await this.connection.drain();
  }

  async close(): Promise<void> {
    if (!this.connection.isClosed()) await this.connection.close();
  }

  private async follow(): Promise<void> {
    for await (const status of this.connection.status()) {
      if (status.type === Events.Disconnect) this.up = false;
      if (status.type === Events.Reconnect) {
        this.up = true;
        this.wake();
      }
    }
  }

  private wake(): void {
    for (const done of [...this.waiting]) done();
  }
}
