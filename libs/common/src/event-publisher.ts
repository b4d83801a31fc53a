import { Logger } from '@nestjs/common';
import { eventSubject, type EventEnvelope } from '@executor/contracts';
import type { NatsLink } from './nats-link';

/**
 * Publishes stored events on `executor.events.<stream_type>.<type>` as plain JSON envelopes.
 * NATS core is at-most-once: a published event is a hint; consumers catch up from the store.
 */
export class EventPublisher {
  private readonly logger = new Logger(EventPublisher.name);
  /** Events stored while NATS was out of reach, published in order once it is back. */
  private held: EventEnvelope[] = [];

  constructor(
    private readonly link: NatsLink,
    private readonly holdMs = 10000,
  ) {}

  publish(events: EventEnvelope[]): void {
    if (this.held.length > 0 || !this.link.connected) {
      if (this.held.length === 0) void this.publishWhenConnected();
      this.held.push(...events);
      return;
    }
    this.send(events);
  }

  private async publishWhenConnected(): Promise<void> {
    const back = await this.link.whenConnected(this.holdMs);
    const events = this.held;
    this.held = [];
    if (back) this.send(events);
    else this.logger.warn(`NATS out of reach: ${events.length} event(s) not published (they are stored)`);
  }

  private send(events: EventEnvelope[]): void {
    for (const event of events) {
      try {
        this.link.connection.publish(eventSubject(event.stream_type, event.type), JSON.stringify(event));
      } catch (err) {
        // The event is stored; subscribers will catch up from the store.
        this.logger.warn(`could not publish ${event.type} at position ${event.position}: ${String(err)}`);
      }
    }
  }
}
