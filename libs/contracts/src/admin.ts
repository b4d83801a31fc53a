import 'reflect-metadata';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { EventEnvelope } from './events';

/** `GET /admin/events`: filters and paging over the event store. */
export class AdminEventsQueryDto {
  @ApiPropertyOptional({ maxLength: 200, description: 'A stream id, e.g. session-<uuid>' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  stream?: string;

  @ApiPropertyOptional({ pattern: '^[A-Z][A-Za-z]{1,63}$', example: 'SessionCreated' })
  @IsOptional()
  @IsString()
  @Matches(/^[A-Z][A-Za-z]{1,63}$/, { message: 'type must be an event type such as SessionCreated' })
  type?: string;

  @ApiPropertyOptional({ maxLength: 100 })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  tenant?: string;

  @ApiPropertyOptional({ enum: ['execution', 'session', 'template', 'sandbox', 'runner'] })
  @IsOptional()
  @IsIn(['execution', 'session', 'template', 'sandbox', 'runner'])
  stream_type?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({}, { message: 'from must be an ISO time' })
  from?: string;

  @ApiPropertyOptional({ format: 'date-time' })
  @IsOptional()
  @IsISO8601({}, { message: 'to must be an ISO time' })
  to?: string;

  @ApiPropertyOptional({ type: 'integer', minimum: 0 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after_position?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before_position?: number;

  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: 1000, default: 100 })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  @Max(1000)
  limit?: number;

  @IsOptional()
  @IsIn(['asc', 'desc'])
  order?: 'asc' | 'desc';
}

export interface AdminEventsReply {
  events: EventEnvelope[];
  /** Pass as after_position (asc) or before_position (desc) for the next page; null at the end. */
  next: number | null;
}
