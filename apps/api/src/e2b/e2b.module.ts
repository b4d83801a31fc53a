import { Module } from '@nestjs/common';
import { E2bControlPlaneController } from './control-plane.controller';
import { E2bEnvdFilesController } from './envd-files.controller';
import { E2bEnvdRpcController } from './envd-rpc.controller';
import { E2bInterpreterController } from './interpreter.controller';
import { SandboxSessions } from './sandbox-sessions';

/**
 * The E2B-compatible surface under /e2b: E2B's control plane, envd and the code interpreter,
 * translated onto our session commands. The official SDKs reach it with E2B_API_URL and
 * E2B_SANDBOX_URL both set to `http://<host>:<port>/e2b`. ApiConfig and ExecutionQuota come
 * global from ApiModule.
 */
@Module({
  controllers: [
    E2bControlPlaneController,
    E2bInterpreterController,
    E2bEnvdFilesController,
    E2bEnvdRpcController,
  ],
  providers: [SandboxSessions],
})
export class E2bModule {}
