import { DynamicModule, Module } from '@nestjs/common';
import { serviceInfrastructure } from '@executor/common';
import { ExecutionController } from './execution/execution.controller';
import { OneOffExecutionService } from './execution/one-off-execution.service';
import { TemplateLookup } from './execution/template-lookup';
import { HealthController } from './health/health.controller';
import { SessionController } from './session/session.controller';
import { SessionRepository } from './session/session.repository';
import { SessionService } from './session/session.service';
import { SessionSupervisor } from './session/session-supervisor';
import { SessionServiceConfig } from './session-service.config';
import { RunnerWatch } from './runners/runner-watch';

@Module({})
export class SessionServiceModule {
  static forRoot(config: SessionServiceConfig): DynamicModule {
    return {
      module: SessionServiceModule,
      imports: serviceInfrastructure('session-service', config),
      controllers: [ExecutionController, HealthController, SessionController],
      providers: [
        { provide: SessionServiceConfig, useValue: config },
        OneOffExecutionService,
        TemplateLookup,
        SessionRepository,
        SessionService,
        SessionSupervisor,
        RunnerWatch,
      ],
    };
  }
}
