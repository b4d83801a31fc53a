import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { loadConfig, runService, startMicroservice } from '@executor/common';
import { TemplateServiceConfig } from './template-service.config';
import { TemplateServiceModule } from './template-service.module';

runService('template-service', async () => {
  const config = loadConfig(TemplateServiceConfig);
  await startMicroservice(TemplateServiceModule.forRoot(config), {
    service: 'template-service',
    queue: QueueGroups.TemplateService,
    config,
  });
});
