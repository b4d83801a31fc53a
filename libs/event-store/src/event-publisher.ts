import { Logger } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import { eventSubject, type EventEnvelope } from '@executor/contracts';

/**
 * Publishes stored events on `executor.events.<stream_type>.<type>` as plain JSON envelopes.
 * NATS core is at-most-once: a published event is a hint; consumers catch up from the store.
 */
export class EventPublisher {
  private readonly logger = new Logger(EventPublisher.name);

  constructor(private readonly nc: NatsConnection) {}

  publish(events: EventEnvelope[]): void {
    for (const event of events) {
      try {
        this.nc.publish(eventSubject(event.stream_type, event.type), JSON.stringify(event));
      } catch (err) {
        // The event is stored; subscribers will catch up from the store.
        this.logger.warn(`could not publish ${event.type} at position ${event.position}: ${String(err)}`);
      }
    }
  }
}
