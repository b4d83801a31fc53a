import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { runMicroservice } from '@executor/common';
import { MetricsConfig } from './metrics.config';
import { MetricsModule } from './metrics.module';

runMicroservice({
  service: 'metrics',
  queue: QueueGroups.Metrics,
  config: MetricsConfig,
  module: MetricsModule,
});
