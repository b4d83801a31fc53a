import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import type { Artifact, ExecutionError, ExecutionResult, ExecutionStatus, RichResult } from '../execution';
import type { SessionExecuteReply } from '../sessions';
import { ErrorDetailDto } from './errors.dto';

export class ArtifactDto implements Artifact {
  @ApiProperty({ description: 'MIME type', example: 'image/png' })
  type: string;

  @ApiProperty({ example: 'chart.png' })
  name: string;

  @ApiProperty({ description: 'base64 when encoding is base64, text otherwise' })
  content: string;

  @ApiProperty({ enum: ['base64', 'utf8'] })
  encoding: 'base64' | 'utf8';

  @ApiProperty({ type: 'integer', description: 'Bytes' })
  size: number;
}

export class RichResultDto implements RichResult {
  @ApiProperty({
    type: 'object',
    additionalProperties: true,
    description: 'A MIME bundle: text/plain, text/html, image/png (base64), application/json, …',
    example: { 'text/plain': '42' },
  })
  data: Record<string, unknown>;

  @ApiProperty({ description: 'True for the value of the last expression; false for display() and figures' })
  is_main_result: boolean;

  @ApiPropertyOptional({ type: 'integer', description: 'In a session: the count of the run that made it' })
  execution_count?: number;
}

export class ExecutionErrorDto implements ExecutionError {
  @ApiProperty({ example: 'ZeroDivisionError' })
  name: string;

  @ApiProperty({ example: 'division by zero' })
  value: string;

  @ApiPropertyOptional()
  traceback?: string;
}

const STATUSES: ExecutionStatus[] = ['success', 'error', 'timeout', 'oom', 'sandbox_died'];

/** What a run returns, also when it failed, timed out or was killed. */
export class ExecutionResultDto implements ExecutionResult {
  @ApiProperty({ enum: STATUSES })
  status: ExecutionStatus;

  @ApiProperty({ format: 'uuid' })
  execution_id: string;

  @ApiProperty({ example: 'default' })
  template: string;

  @ApiProperty({ example: 'python' })
  language: string;

  @ApiProperty({ type: 'integer' })
  exit_code: number;

  @ApiProperty({ description: 'Capped at 1 MiB; see truncated', example: 'Hello, Sandbox!\n' })
  stdout: string;

  @ApiProperty()
  stderr: string;

  @ApiProperty({ description: 'Seconds, wall clock of the code', example: 0.012 })
  execution_time: number;

  @ApiProperty({ type: () => [RichResultDto] })
  results: RichResultDto[];

  @ApiProperty({ type: () => [ArtifactDto], description: 'Files the run wrote or drew' })
  artifacts: ArtifactDto[];

  @ApiPropertyOptional({ type: () => ExecutionErrorDto })
  error?: ExecutionErrorDto;

  @ApiProperty()
  timed_out: boolean;

  @ApiProperty()
  oom_killed: boolean;

  @ApiProperty({ description: 'Output, results or files were cut to their limits' })
  truncated: boolean;
}

export class SessionExecuteResultDto extends ExecutionResultDto implements SessionExecuteReply {
  @ApiProperty({ format: 'uuid' })
  session_id: string;

  @ApiProperty({
    description:
      "The session's state from before is gone: its sandbox had to be replaced (a timeout, an OOM kill, a dead kernel)",
  })
  state_lost: boolean;

  @ApiProperty({ type: 'integer', description: "This run's number in the session, from 1" })
  execution_count: number;
}

/** A line of a streamed run (`stream: true`, or Accept: application/x-ndjson or text/event-stream). */
export class StreamFrameDto {
  @ApiProperty({ enum: ['stdout', 'stderr', 'result', 'keepalive', 'done', 'error'] })
  type: 'stdout' | 'stderr' | 'result' | 'keepalive' | 'done' | 'error';

  @ApiPropertyOptional({ description: 'stdout and stderr frames' })
  text?: string;

  @ApiPropertyOptional({
    type: 'object',
    additionalProperties: true,
    description: 'result frames: a MIME bundle',
  })
  data?: Record<string, unknown>;

  @ApiPropertyOptional({ description: 'result frames' })
  is_main_result?: boolean;

  @ApiPropertyOptional({ type: () => ExecutionResultDto, description: 'the done frame: the whole result' })
  result?: ExecutionResultDto;

  @ApiPropertyOptional({
    type: () => ErrorDetailDto,
    description: 'the error frame: the run failed after it began',
  })
  error?: ErrorDetailDto;
}
