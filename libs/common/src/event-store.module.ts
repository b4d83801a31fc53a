import { DynamicModule, Inject, Injectable, Logger, Module, OnApplicationShutdown } from '@nestjs/common';
import { describeStore, EventStore, type EventStoreOptions } from '@executor/event-store';
import { EventPublisher } from './event-publisher';
import { EventRecorder } from './event-recorder';
import { NatsLink } from './nats-link';

@Injectable()
class EventStoreCloser implements OnApplicationShutdown {
  constructor(@Inject(EventStore) private readonly store: EventStore) {}
  async onApplicationShutdown(): Promise<void> {
    await this.store.close();
  }
}

/** Provides the EventStore and an EventRecorder (append, then publish). Needs the NATS module. */
@Module({})
export class EventStoreModule {
  static forRoot(options: EventStoreOptions): DynamicModule {
    return {
      module: EventStoreModule,
      global: true,
      providers: [
        {
          provide: EventStore,
          useFactory: () => {
            new Logger(EventStoreModule.name).log(`event store: ${describeStore(options)}`);
            return EventStore.open(options);
          },
        },
        {
          provide: EventRecorder,
          inject: [EventStore, NatsLink],
          useFactory: (store: EventStore, link: NatsLink) =>
            new EventRecorder(store, new EventPublisher(link)),
        },
        EventStoreCloser,
      ],
      exports: [EventStore, EventRecorder],
    };
  }
}
