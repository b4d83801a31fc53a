import { DynamicModule, Module } from '@nestjs/common';
import { ApiConfig } from '../api.config';
import { ExecutionQuota } from '../auth/execution-quota';
import { E2bControlPlaneController } from './control-plane.controller';
import { E2bEnvdFilesController } from './envd-files.controller';
import { E2bEnvdRpcController } from './envd-rpc.controller';
import { E2bInterpreterController } from './interpreter.controller';
import { SandboxSessions } from './sandbox-sessions';

/**
 * The E2B-compatible surface under /e2b: E2B's control plane, envd and the code interpreter,
 * translated onto our session commands. The official SDKs reach it with E2B_API_URL and
 * E2B_SANDBOX_URL both set to `http://<host>:<port>/e2b`.
 */
@Module({})
export class E2bModule {
  /** `quota` is the api's own: E2B runs count against the same per-tenant limits. */
  static forRoot(config: ApiConfig, quota: ExecutionQuota): DynamicModule {
    return {
      module: E2bModule,
      controllers: [
        E2bControlPlaneController,
        E2bInterpreterController,
        E2bEnvdFilesController,
        E2bEnvdRpcController,
      ],
      providers: [
        { provide: ApiConfig, useValue: config },
        { provide: ExecutionQuota, useValue: quota },
        SandboxSessions,
      ],
    };
  }
}
