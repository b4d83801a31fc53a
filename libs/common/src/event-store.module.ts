import { Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { describeStore, EventStore, type EventStoreOptions } from '@executor/event-store';
import { EventPublisher } from './event-publisher';
import { EventRecorder } from './event-recorder';
import { globalModuleWithOptions } from './global-module';
import { NatsLink } from './nats-link';

@Injectable()
class EventStoreCloser implements OnApplicationShutdown {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

const { GlobalModule, OPTIONS } = globalModuleWithOptions<EventStoreOptions>('EventStore');

/** Provides the EventStore and an EventRecorder (append, then publish). Needs the NATS module. */
@Module({
  providers: [
    {
      provide: EventStore,
      inject: [OPTIONS],
      useFactory: (options: EventStoreOptions) => {
        new Logger(EventStoreModule.name).log(`event store: ${describeStore(options)}`);
        return EventStore.open(options);
      },
    },
    {
      provide: EventRecorder,
      inject: [EventStore, NatsLink],
      useFactory: (store: EventStore, link: NatsLink) => new EventRecorder(store, new EventPublisher(link)),
    },
    EventStoreCloser,
  ],
  exports: [EventStore, EventRecorder],
})
export class EventStoreModule extends GlobalModule {}
