import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { ContextInfo, FileEntry, SessionCreateReply, SessionStatus, SessionView } from '../sessions';
import { SuccessDto } from './success.dto';

const STRING_MAP = { type: 'object', additionalProperties: { type: 'string' } } as const;

export class SessionCreatedDto extends SuccessDto implements SessionCreateReply {
  @ApiProperty({ format: 'uuid' })
  session_id: string;

  @ApiProperty({ example: 'python-data' })
  template: string;

  @ApiProperty({ type: 'integer', description: 'Idle seconds before it expires' })
  ttl: number;

  @ApiProperty({ description: 'The live session of the same tenant, scope and template was reused' })
  reused: boolean;

  @ApiProperty({
    format: 'date-time',
    description: 'When it ends if nothing more happens: idle expiry or the deadline, whichever is first',
  })
  expires_at: string;

  @ApiPropertyOptional({ format: 'date-time' })
  deadline_at?: string;
}

export class SessionDestroyedDto extends SuccessDto {
  @ApiProperty({ format: 'uuid' })
  session_id: string;
}

export class SessionViewDto implements SessionView {
  @ApiProperty({ format: 'uuid' })
  session_id: string;

  @ApiProperty()
  tenant_id: string;

  @ApiProperty()
  scope: string;

  @ApiProperty()
  template: string;

  @ApiProperty({ enum: ['active', 'expired', 'destroyed', 'lost'] })
  state: SessionStatus;

  @ApiProperty({ type: 'integer' })
  ttl: number;

  @ApiProperty(STRING_MAP)
  metadata: Record<string, string>;

  @ApiProperty({ format: 'date-time' })
  created_at: string;

  @ApiProperty({ format: 'date-time' })
  last_used_at: string;

  @ApiProperty({ format: 'date-time' })
  expires_at: string;

  @ApiPropertyOptional({
    format: 'date-time',
    description: 'The absolute end of its life, if it was given one',
  })
  deadline_at?: string;

  @ApiProperty({ type: 'integer' })
  executions: number;
}

export class SessionReplyDto extends SuccessDto {
  @ApiProperty({ type: () => SessionViewDto })
  session: SessionViewDto;
}

export class SessionListDto extends SuccessDto {
  @ApiProperty({ type: () => [SessionViewDto] })
  sessions: SessionViewDto[];
}

export class ContextInfoDto implements ContextInfo {
  @ApiProperty({ format: 'uuid' })
  id: string;

  @ApiProperty({ example: 'python' })
  language: string;

  @ApiProperty({ example: '/workspace' })
  cwd: string;

  @ApiProperty({ description: "The session's default context of its language" })
  default: boolean;
}

export class ContextCreatedDto extends SuccessDto {
  @ApiProperty({ type: () => ContextInfoDto })
  context: ContextInfoDto;

  @ApiProperty({ type: () => [ContextInfoDto] })
  contexts: ContextInfoDto[];
}

export class ContextListDto extends SuccessDto {
  @ApiProperty({ type: () => [ContextInfoDto] })
  contexts: ContextInfoDto[];
}

export class ContextReplyDto extends SuccessDto {
  @ApiProperty({ type: () => ContextInfoDto, description: 'The context restarted or removed' })
  context: ContextInfoDto;
}

export class FileEntryDto implements FileEntry {
  @ApiProperty({ example: 'data.csv' })
  name: string;

  @ApiProperty({ example: 'data.csv', description: 'Relative to /workspace' })
  path: string;

  @ApiProperty({ enum: ['file', 'dir', 'link', 'other'] })
  type: 'file' | 'dir' | 'link' | 'other';

  @ApiProperty({ type: 'integer' })
  size: number;

  @ApiProperty({ format: 'date-time' })
  modified: string;
}

export class FileWrittenDto extends SuccessDto {
  @ApiProperty()
  path: string;

  @ApiProperty({ type: 'integer', description: 'Bytes written' })
  size: number;
}

/** `GET /session/files/download?format=json`. */
export class FileContentDto extends SuccessDto {
  @ApiProperty()
  path: string;

  @ApiProperty({ type: 'integer' })
  size: number;

  @ApiPropertyOptional({ example: 'text/csv' })
  mime?: string;

  @ApiProperty({ enum: ['base64'] })
  encoding: 'base64';

  @ApiProperty({ description: 'The bytes, base64' })
  content: string;
}

export class FileListDto extends SuccessDto {
  @ApiProperty()
  path: string;

  @ApiProperty({ type: () => [FileEntryDto] })
  entries: FileEntryDto[];
}

export class FilePathDto extends SuccessDto {
  @ApiProperty()
  path: string;
}
