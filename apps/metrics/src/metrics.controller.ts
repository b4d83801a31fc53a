import { Controller, Inject } from '@nestjs/common';
import { Registry } from 'prom-client';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Subjects,
  type AdminEventsQueryDto,
  type AdminEventsReply,
  type ServiceHealthReply,
} from '@executor/contracts';
import { checkEventStore, EventStore } from '@executor/event-store';
import { MetricsConfig } from './metrics.config';
import { MetricsProjector } from './projection/metrics-projector';
import { metricsView } from './projection/metrics-view';
import { ProjectionMetrics } from './projection/projection-metrics';

@Controller()
export class MetricsController {
  constructor(
    private readonly projector: MetricsProjector,
    private readonly store: EventStore,
    @Inject(MetricsConfig) private readonly config: MetricsConfig,
    private readonly registry: Registry,
    private readonly projection: ProjectionMetrics,
  ) {}

  @MessagePattern(Subjects.MetricsGet)
  async metrics() {
    return {
      ...metricsView(this.projector.state, await this.store.headPosition(), this.config.MAX_SESSIONS),
    };
  }

  /** This process's exposition: the projection and its own process metrics (the api merges every app's). */
  @MessagePattern(Subjects.MetricsPrometheus)
  async prometheus(): Promise<{ text: string }> {
    const texts = await Promise.all([this.projection.registry.metrics(), this.registry.metrics()]);
    return { text: texts.join('') };
  }

  @MessagePattern(Subjects.MetricsRebuild)
  async rebuild(): Promise<{ position: number }> {
    return { position: await this.projector.rebuild() };
  }

  /** Admin queries of the event store: filtered, ordered, paged without gaps or repeats. */
  @MessagePattern(Subjects.AdminEvents)
  events(@Payload() q: AdminEventsQueryDto): Promise<AdminEventsReply> {
    return this.store.query({
      stream_id: q.stream,
      stream_type: q.stream_type,
      type: q.type,
      tenant_id: q.tenant,
      from: q.from,
      to: q.to,
      after_position: q.after_position,
      before_position: q.before_position,
      limit: q.limit ?? 100,
      order: q.order,
    });
  }

  @MessagePattern(Subjects.AdminStream)
  async stream(@Payload() req: { stream_id: string }): Promise<AdminEventsReply> {
    return { events: await this.store.readStream(String(req.stream_id)), next: null };
  }

  @MessagePattern(Subjects.MetricsHealth)
  async health(): Promise<ServiceHealthReply> {
    return { service: 'metrics', checks: { event_store: await checkEventStore(this.store) } };
  }
}
