import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { runMicroservice } from '@executor/common';
import { TemplateServiceConfig } from './template-service.config';
import { TemplateServiceModule } from './template-service.module';

runMicroservice({
  service: 'template-service',
  queue: QueueGroups.TemplateService,
  config: TemplateServiceConfig,
  module: TemplateServiceModule,
});
