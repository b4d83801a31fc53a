import { ApiProperty } from '@nestjs/swagger';
import { EventTypes, StreamTypes, type EventEnvelope, type EventType, type StreamType } from '../events';
import { SuccessDto } from './success.dto';

/** An event as it is stored (DESIGN.md's envelope). */
export class EventEnvelopeDto implements EventEnvelope {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'session-5b0e1c1e-2f7a-4a43-9d3b-8d5f0f3c2a11' })
  stream_id: string;

  @ApiProperty({ enum: Object.values(StreamTypes) })
  stream_type: StreamType;

  @ApiProperty({ enum: Object.values(EventTypes) })
  type: EventType;

  @ApiProperty({ type: 'integer', description: 'Its place in its stream, from 1' })
  version: number;

  @ApiProperty({ type: 'integer', description: 'Its place in the whole log' })
  position: number;

  @ApiProperty({ type: String, nullable: true })
  tenant_id: string | null;

  @ApiProperty({ format: 'date-time' })
  occurred_at: string;

  @ApiProperty({ type: String, nullable: true })
  correlation_id: string | null;

  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'What happened; its fields depend on type. Never code, outputs or secrets.',
  })
  data: EventEnvelope['data'];
}

export class EventPageDto extends SuccessDto {
  @ApiProperty({ type: () => [EventEnvelopeDto] })
  events: EventEnvelopeDto[];

  @ApiProperty({
    type: 'integer',
    nullable: true,
    description: 'Pass as after_position (asc) or before_position (desc) for the next page; null at the end',
  })
  next: number | null;
}

export class StreamHistoryDto extends SuccessDto {
  @ApiProperty()
  stream_id: string;

  @ApiProperty({ type: () => [EventEnvelopeDto] })
  events: EventEnvelopeDto[];
}
