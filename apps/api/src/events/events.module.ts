import { DynamicModule, Module } from '@nestjs/common';
import { ApiConfig } from '../api.config';
import { EventHub } from './event-hub';
import { EventStreamController } from './event-stream.controller';

/** GET /events/stream: the live event log over SSE (NatsModule is global, from the root). */
@Module({})
export class EventsModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: EventsModule,
      controllers: [EventStreamController],
      providers: [{ provide: ApiConfig, useValue: config }, EventHub],
    };
  }
}
