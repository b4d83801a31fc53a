import { DynamicModule, Module } from '@nestjs/common';
import { globalValues, NatsModule } from '@executor/common';
import { ApiConfig } from './api.config';
import { ExecutionCounters } from './auth/execution-quota';
import { ExecuteController } from './execute/execute.controller';
import { ApiHealth } from './health/api-health';
import { HealthController } from './health/health.controller';
import { TemplatesController } from './templates/templates.controller';
import { SessionFilesController } from './sessions/session-files.controller';
import { SessionsController } from './sessions/sessions.controller';
import { AdminController } from './admin/admin.controller';
import { MetricsController } from './metrics/metrics.controller';
import { McpController } from './mcp/mcp.controller';
import { E2bModule } from './e2b/e2b.module';
import { EventsModule } from './events/events.module';
import { ConsoleModule } from './console/console.module';

@Module({})
export class ApiModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: ApiModule,
      imports: [
        NatsModule.forRoot({ url: config.NATS_URL, service: 'api' }),
        globalValues(
          { provide: ApiConfig, useValue: config },
          { provide: ExecutionCounters, useValue: new ExecutionCounters() },
        ),
        E2bModule,
        EventsModule,
        ConsoleModule,
      ],
      controllers: [
        ExecuteController,
        HealthController,
        TemplatesController,
        SessionsController,
        SessionFilesController,
        MetricsController,
        AdminController,
        McpController,
      ],
      providers: [ApiHealth],
    };
  }
}
