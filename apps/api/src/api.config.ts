import { IsInt, IsString, Matches, Max, Min } from 'class-validator';
import { BaseConfig } from '@executor/common';

export class ApiConfig extends BaseConfig {
  @IsString()
  API_HOST = '127.0.0.1';

  @IsInt()
  @Min(0)
  @Max(65535)
  API_PORT = 8080;

  /** Largest accepted request body (body-parser syntax). Files travel base64 inside it. */
  @IsString()
  @Matches(/^\d+(b|kb|mb)$/i)
  BODY_LIMIT = '24mb';

  /** Seconds allowed beyond an execution's timeout for the whole round trip. */
  @IsInt()
  @Min(5)
  @Max(600)
  EXECUTION_OVERHEAD_S = 60;
}
