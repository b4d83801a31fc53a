import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { ErrorCodes, type ErrorCode, type ErrorPayload } from '../errors';

export class ErrorDetailDto implements ErrorPayload {
  @ApiProperty({ enum: Object.values(ErrorCodes), enumName: 'ErrorCode' })
  code: ErrorCode;

  @ApiProperty({ example: 'code should not be empty' })
  message: string;

  @ApiPropertyOptional({ type: 'integer', description: 'Seconds; also sent as Retry-After.' })
  retry_after?: number;
}

/** Every error the HTTP API answers: `{status: "error", error: {code, message}}`. */
export class ErrorBodyDto {
  @ApiProperty({ enum: ['error'] })
  status: 'error';

  @ApiProperty({ type: () => ErrorDetailDto })
  error: ErrorDetailDto;
}
