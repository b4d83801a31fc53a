import { Module } from '@nestjs/common';
import { EventHub } from './event-hub';
import { EventStreamController } from './event-stream.controller';

/** GET /events/stream: the live event log over SSE (NatsModule and ApiConfig are global, from the root). */
@Module({
  controllers: [EventStreamController],
  providers: [EventHub],
})
export class EventsModule {}
