import { Controller, DynamicModule, Module } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { BaseConfig, NatsModule } from '@executor/common';
import { Subjects, type ServiceHealthReply } from '@executor/contracts';
import { checkEventStore, EventStore, EventStoreModule } from '@executor/event-store';

/** The read side. For now it answers health; projections come with the metrics issue. */
@Controller()
export class MetricsHealthController {
  constructor(private readonly store: EventStore) {}

  @MessagePattern(Subjects.MetricsHealth)
  health(): ServiceHealthReply {
    return { service: 'metrics', checks: { event_store: checkEventStore(this.store) } };
  }
}

@Module({})
export class MetricsModule {
  static forRoot(config: BaseConfig): DynamicModule {
    return {
      module: MetricsModule,
      imports: [
        NatsModule.forRoot({ url: config.NATS_URL, service: 'metrics' }),
        EventStoreModule.forRoot({
          path: config.EVENT_STORE_PATH,
          synchronous: config.EVENT_STORE_SYNCHRONOUS,
        }),
      ],
      controllers: [MetricsHealthController],
    };
  }
}
