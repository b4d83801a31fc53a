import 'reflect-metadata';
import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { EventEnvelope } from './events';

/**
 * A query parameter that, when given, is a whole number from `minimum` (to `maximum`): parsed
 * from its text, checked, and documented with the same bounds. The checks are listed as a
 * stack of decorators would apply them (the one nearest the property first).
 */
function OptionalIntegerParam(bounds: { minimum: number; maximum?: number; default?: number }) {
  return applyDecorators(
    ...(bounds.maximum === undefined ? [] : [Max(bounds.maximum)]),
    Min(bounds.minimum),
    IsInt(),
    Type(() => Number),
    IsOptional(),
    ApiPropertyOptional({ type: 'integer', ...bounds }),
  );
}

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

  @OptionalIntegerParam({ minimum: 0 })
  after_position?: number;

  @OptionalIntegerParam({ minimum: 1 })
  before_position?: number;

  @OptionalIntegerParam({ minimum: 1, maximum: 1000, default: 100 })
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
