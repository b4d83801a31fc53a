import type { EventEnvelope } from '@executor/contracts';
import type { EventStore } from '@executor/event-store';
import type { EventPublisher } from './event-publisher';

/** Appends to the store first, then publishes what was stored. */
export class EventRecorder {
  constructor(
    readonly store: EventStore,
    private readonly publisher: EventPublisher,
  ) {}

  /** Takes what EventStore.append takes: stream id and type, expected version, events, meta. */
  async record(...append: Parameters<EventStore['append']>): Promise<EventEnvelope[]> {
    const stored = await this.store.append(...append);
    this.publisher.publish(stored);
    return stored;
  }
}
