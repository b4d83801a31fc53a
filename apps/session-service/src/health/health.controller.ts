import { Controller } from '@nestjs/common';
import { MessagePattern } from '@nestjs/microservices';
import { Subjects, type ServiceHealthReply } from '@executor/contracts';
import { checkEventStore, EventStore } from '@executor/event-store';

@Controller()
export class HealthController {
  constructor(private readonly store: EventStore) {}

  @MessagePattern(Subjects.SessionHealth)
  async health(): Promise<ServiceHealthReply> {
    return { service: 'session-service', checks: { event_store: await checkEventStore(this.store) } };
  }
}
