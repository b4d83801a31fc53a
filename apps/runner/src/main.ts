import 'reflect-metadata';
import { QueueGroups } from '@executor/contracts';
import { runMicroservice } from '@executor/common';
import { RUNNER_CONFIG, RunnerConfig } from './runner.config';
import { assertRunnerIdFree } from './runner-id-check';
import { RunnerModule } from './runner.module';
import { sessionRoutes } from './session/session-routes';

runMicroservice({
  service: 'runner',
  queue: QueueGroups.Runner,
  config: RunnerConfig,
  configToken: RUNNER_CONFIG,
  module: RunnerModule,
  routes: (config) => sessionRoutes(config.RUNNER_ID),
  preflight: assertRunnerIdFree,
});
