import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { loadConfig, runService, startMicroservice } from '@executor/common';
import { SessionServiceConfig } from './session-service.config';
import { SessionServiceModule } from './session-service.module';

runService('session-service', async () => {
  const config = loadConfig(SessionServiceConfig);
  await startMicroservice(SessionServiceModule.forRoot(config), {
    service: 'session-service',
    url: config.NATS_URL,
    queue: QueueGroups.SessionService,
    drainTimeoutMs: config.DRAIN_TIMEOUT_S * 1000,
  });
});
