import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { BaseConfig, loadConfig, runService, startMicroservice } from '@executor/common';
import { MetricsModule } from './metrics.module';

runService('metrics', async () => {
  const config = loadConfig(BaseConfig);
  await startMicroservice(MetricsModule.forRoot(config), {
    service: 'metrics',
    url: config.NATS_URL,
    queue: QueueGroups.Metrics,
  });
});
