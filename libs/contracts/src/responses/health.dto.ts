import { ApiExtraModels, ApiProperty, ApiPropertyOptional, getSchemaPath } from '@nestjs/swagger';
import type { CheckResult, CheckStatus } from '../health';

export class CheckResultDto implements CheckResult {
  @ApiProperty({ enum: ['healthy', 'unhealthy'] })
  status: CheckStatus;

  @ApiPropertyOptional({ type: 'integer' })
  latency_ms?: number;

  @ApiPropertyOptional()
  error?: string;
}

/** `GET /health`: the same shape with 200 (healthy) and 503 (degraded). */
@ApiExtraModels(CheckResultDto)
export class HealthDto {
  @ApiProperty({ enum: ['healthy', 'degraded'] })
  status: 'healthy' | 'degraded';

  @ApiProperty({ enum: ['executor-api'] })
  service: 'executor-api';

  @ApiProperty({ example: '0.1.0' })
  version: string;

  @ApiProperty({
    type: 'object',
    description: 'nats, docker, event_store and one entry per service',
    additionalProperties: { $ref: getSchemaPath(CheckResultDto) },
  })
  checks: Record<string, CheckResultDto>;
}

/** `GET /livez`: the process answers. */
export class LivenessDto {
  @ApiProperty({ enum: ['alive'] })
  status: 'alive';

  @ApiProperty({ enum: ['executor-api'] })
  service: 'executor-api';

  @ApiProperty({ example: '0.1.0' })
  version: string;
}

/** `GET /readyz`: whether the api can serve requests now. */
export class ReadinessDto {
  @ApiProperty({ enum: ['ready', 'unready'] })
  status: 'ready' | 'unready';

  @ApiPropertyOptional({ type: [String], description: 'The checks that are down (when unready)' })
  unhealthy?: string[];
}
