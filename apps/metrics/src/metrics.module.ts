import { DynamicModule, Module } from '@nestjs/common';
import { serviceInfrastructure } from '@executor/common';
import { MetricsConfig } from './metrics.config';
import { MetricsController } from './metrics.controller';
import { MetricsProjector } from './projection/metrics-projector';
import { ProjectionMetrics } from './projection/projection-metrics';

/** The read side: a projection of the event log into metrics, and admin queries of the log. */
@Module({})
export class MetricsModule {
  static forRoot(config: MetricsConfig): DynamicModule {
    return {
      module: MetricsModule,
      imports: serviceInfrastructure('metrics', config),
      controllers: [MetricsController],
      providers: [{ provide: MetricsConfig, useValue: config }, MetricsProjector, ProjectionMetrics],
    };
  }
}
