import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { SuccessDto } from './success.dto';

const COUNTS = {
  type: 'object',
  additionalProperties: { type: 'integer' },
  example: { success: 12, error: 1 },
} as const;
const NULLABLE_MS = { type: 'number', nullable: true } as const;

export class LatencyDto {
  @ApiProperty(NULLABLE_MS)
  p50: number | null;

  @ApiProperty(NULLABLE_MS)
  p95: number | null;

  @ApiProperty(NULLABLE_MS)
  p99: number | null;

  @ApiProperty({ type: 'integer', description: 'Runs the percentiles are taken over' })
  window: number;
}

export class TemplateBuildCountsDto {
  @ApiProperty({ type: 'integer' })
  started: number;

  @ApiProperty({ type: 'integer' })
  succeeded: number;

  @ApiProperty({ type: 'integer' })
  failed: number;
}

export class ProjectionPositionDto {
  @ApiProperty({ type: 'integer', description: 'The last event applied' })
  position: number;

  @ApiProperty({ type: 'integer', description: 'The last event in the store' })
  head: number;

  @ApiProperty({ type: 'integer' })
  lag: number;
}

/** The event log's projection (apps/metrics), as `GET /metrics` shows it. */
export class MetricsViewDto {
  @ApiProperty({ type: 'integer' })
  sessions_created: number;

  @ApiProperty({ type: 'integer' })
  sessions_reused: number;

  @ApiProperty({ type: 'integer' })
  active_sessions: number;

  @ApiProperty({ type: 'integer' })
  max_sessions: number;

  @ApiProperty({ type: 'integer' })
  sessions_expired: number;

  @ApiProperty({ type: 'integer' })
  sessions_destroyed: number;

  @ApiProperty({ type: 'integer' })
  sessions_lost: number;

  @ApiProperty({ type: 'integer' })
  executions_total: number;

  @ApiProperty(COUNTS)
  executions_by_status: Record<string, number>;

  @ApiProperty(COUNTS)
  executions_by_template: Record<string, number>;

  @ApiProperty(COUNTS)
  executions_by_language: Record<string, number>;

  @ApiPropertyOptional({ ...COUNTS, description: 'Only for admin keys, the scrape token, or with keys off' })
  executions_by_tenant?: Record<string, number>;

  @ApiProperty(COUNTS)
  executions_by_kind: Record<string, number>;

  @ApiProperty({ type: 'integer' })
  executions_pending: number;

  @ApiProperty({ type: 'integer' })
  executions_lost: number;

  @ApiProperty({ type: 'integer' })
  timeouts: number;

  @ApiProperty({ type: 'integer' })
  oom_kills: number;

  @ApiProperty({ type: 'integer' })
  truncations: number;

  @ApiProperty({ type: 'integer' })
  session_states_lost: number;

  @ApiProperty({ type: () => LatencyDto, description: 'Milliseconds' })
  latency_ms: LatencyDto;

  @ApiProperty({ type: () => TemplateBuildCountsDto })
  template_builds: TemplateBuildCountsDto;

  @ApiProperty({ type: 'integer' })
  templates_registered: number;

  @ApiProperty({ type: 'integer' })
  runner_starts: number;

  @ApiProperty({ type: () => ProjectionPositionDto })
  projection: ProjectionPositionDto;
}

export class MetricsReplyDto extends SuccessDto {
  @ApiProperty({ type: () => MetricsViewDto })
  metrics: MetricsViewDto;
}
