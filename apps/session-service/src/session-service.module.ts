import { Module } from '@nestjs/common';
import { ExecutionController } from './execution/execution.controller';
import { OneOffExecutionService } from './execution/one-off-execution.service';
import { TemplateLookup } from './execution/template-lookup';
import { HealthController } from './health/health.controller';
import { SessionController } from './session/session.controller';
import { SessionRepository } from './session/session.repository';
import { SessionService } from './session/session.service';
import { SessionSupervisor } from './session/session-supervisor';
import { RunnerWatch } from './runners/runner-watch';

/** NATS, the event store and SessionServiceConfig come from runMicroservice. */
@Module({
  controllers: [ExecutionController, HealthController, SessionController],
  providers: [
    OneOffExecutionService,
    TemplateLookup,
    SessionRepository,
    SessionService,
    SessionSupervisor,
    RunnerWatch,
  ],
})
export class SessionServiceModule {}
