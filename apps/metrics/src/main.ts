import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { loadConfig, runService, startMicroservice } from '@executor/common';
import { MetricsConfig } from './metrics.config';
import { MetricsModule } from './metrics.module';

runService('metrics', async () => {
  const config = loadConfig(MetricsConfig);
  await startMicroservice(MetricsModule.forRoot(config), {
    service: 'metrics',
    url: config.NATS_URL,
    queue: QueueGroups.Metrics,
    drainTimeoutMs: config.DRAIN_TIMEOUT_S * 1000,
  });
});
