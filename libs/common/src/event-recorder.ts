import type { EventEnvelope, NewEvent, StreamType } from '@executor/contracts';
import type { AppendMeta, EventStore, ExpectedVersion } from '@executor/event-store';
import type { EventPublisher } from './event-publisher';

/** Appends to the store first, then publishes what was stored. */
export class EventRecorder {
  constructor(
    readonly store: EventStore,
    private readonly publisher: EventPublisher,
  ) {}

  async record(
    streamId: string,
    streamType: StreamType,
    expected: ExpectedVersion,
    events: NewEvent[],
    meta: AppendMeta = {},
  ): Promise<EventEnvelope[]> {
    const stored = await this.store.append(streamId, streamType, expected, events, meta);
    this.publisher.publish(stored);
    return stored;
  }
}
