import { DynamicModule, Module } from '@nestjs/common';
import { NatsModule } from '@executor/common';
import { EventStoreModule } from '@executor/event-store';
import { ExecutionController } from './execution/execution.controller';
import { OneOffExecutionService } from './execution/one-off-execution.service';
import { HealthController } from './health/health.controller';
import { SessionServiceConfig } from './session-service.config';

@Module({})
export class SessionServiceModule {
  static forRoot(config: SessionServiceConfig): DynamicModule {
    return {
      module: SessionServiceModule,
      imports: [
        NatsModule.forRoot({ url: config.NATS_URL, service: 'session-service' }),
        EventStoreModule.forRoot({
          path: config.EVENT_STORE_PATH,
          synchronous: config.EVENT_STORE_SYNCHRONOUS,
        }),
      ],
      controllers: [ExecutionController, HealthController],
      providers: [{ provide: SessionServiceConfig, useValue: config }, OneOffExecutionService],
    };
  }
}
