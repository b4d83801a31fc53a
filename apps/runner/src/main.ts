import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { loadConfig, runService, startMicroservice } from '@executor/common';
import { RunnerConfig } from './runner.config';
import { assertRunnerIdFree } from './runner-id-check';
import { RunnerModule } from './runner.module';
import { sessionRoutes } from './session/session-routes';

runService('runner', async () => {
  const config = loadConfig(RunnerConfig);
  await assertRunnerIdFree(config);
  await startMicroservice(RunnerModule.forRoot(config), {
    service: 'runner',
    queue: QueueGroups.Runner,
    config,
    routes: sessionRoutes(config.RUNNER_ID),
  });
});
