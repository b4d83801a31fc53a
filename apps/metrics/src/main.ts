import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { loadConfig, runService, startMicroservice } from '@executor/common';
import { MetricsConfig } from './metrics.config';
import { MetricsModule } from './metrics.module';

runService('metrics', async () => {
  const config = loadConfig(MetricsConfig);
  await startMicroservice(MetricsModule.forRoot(config), {
    service: 'metrics',
    queue: QueueGroups.Metrics,
    config,
  });
});
