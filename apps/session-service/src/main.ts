import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { loadConfig, runService, startMicroservice } from '@executor/common';
import { SessionServiceConfig } from './session-service.config';
import { SessionServiceModule } from './session-service.module';

runService('session-service', async () => {
  const config = loadConfig(SessionServiceConfig);
  await startMicroservice(SessionServiceModule.forRoot(config), {
    service: 'session-service',
    queue: QueueGroups.SessionService,
    config,
  });
});
