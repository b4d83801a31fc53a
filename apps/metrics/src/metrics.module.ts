import { Module } from '@nestjs/common';
import { MetricsController } from './metrics.controller';
import { MetricsProjector } from './projection/metrics-projector';
import { ProjectionMetrics } from './projection/projection-metrics';

/**
 * The read side: a projection of the event log into metrics, and admin queries of the log.
 * NATS, the event store and MetricsConfig come from runMicroservice.
 */
@Module({
  controllers: [MetricsController],
  providers: [MetricsProjector, ProjectionMetrics],
})
export class MetricsModule {}
