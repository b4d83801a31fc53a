import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { runMicroservice } from '@executor/common';
import { SessionServiceConfig } from './session-service.config';
import { SessionServiceModule } from './session-service.module';

runMicroservice({
  service: 'session-service',
  queue: QueueGroups.SessionService,
  config: SessionServiceConfig,
  module: SessionServiceModule,
});
