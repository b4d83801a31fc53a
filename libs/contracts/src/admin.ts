import 'reflect-metadata';
import { Type } from 'class-transformer';
import { IsIn, IsInt, IsISO8601, IsOptional, IsString, Matches, Max, MaxLength, Min } from 'class-validator';
import type { EventEnvelope } from './events';

/** `GET /admin/events`: filters and paging over the event store. */
export class AdminEventsQueryDto {
  @IsOptional()
  @IsString()
  @MaxLength(200)
  stream?: string;

  @IsOptional()
  @IsString()
  @Matches(/^[A-Z][A-Za-z]{1,63}$/, { message: 'type must be an event type such as SessionCreated' })
  type?: string;

  @IsOptional()
  @IsString()
  @MaxLength(100)
  tenant?: string;

  @IsOptional()
  @IsIn(['execution', 'session', 'template', 'sandbox', 'runner'])
  stream_type?: string;

  @IsOptional()
  @IsISO8601({}, { message: 'from must be an ISO time' })
  from?: string;

  @IsOptional()
  @IsISO8601({}, { message: 'to must be an ISO time' })
  to?: string;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after_position?: number;

  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(1)
  before_position?: number;

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
