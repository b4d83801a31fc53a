import 'reflect-metadata';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, IsString, Matches, MaxLength, Min } from 'class-validator';

/** One event type, or several separated by commas (at most 20). */
export const EVENT_TYPES_PATTERN = /^[A-Z][A-Za-z]{1,63}(,[A-Z][A-Za-z]{1,63}){0,19}$/;

/** `GET /events/stream`: which events, and from where (`Last-Event-ID` wins over `after`). */
export class EventStreamQueryDto {
  @ApiPropertyOptional({
    pattern: EVENT_TYPES_PATTERN.source,
    example: 'SessionCreated,SessionDestroyed',
    description: 'Event types, comma-separated',
  })
  @IsOptional()
  @IsString()
  @Matches(EVENT_TYPES_PATTERN, {
    message: 'type must be event types such as SessionCreated, comma-separated',
  })
  type?: string;

  @ApiPropertyOptional({ maxLength: 100, description: "A tenant (a tenant key's own when omitted)" })
  @IsOptional()
  @IsString()
  @MaxLength(100)
  tenant?: string;

  @ApiPropertyOptional({ maxLength: 200, description: 'A stream id, e.g. session-<uuid>' })
  @IsOptional()
  @IsString()
  @MaxLength(200)
  stream?: string;

  @ApiPropertyOptional({
    type: 'integer',
    minimum: 0,
    description:
      'Send the events after this global position first (0: the whole log); default: only new ones',
  })
  @IsOptional()
  @Type(() => Number)
  @IsInt()
  @Min(0)
  after?: number;
}
