import { IsInt, Max, Min } from 'class-validator';
import { BaseConfig } from '@executor/common';

export class SessionServiceConfig extends BaseConfig {
  /** Seconds allowed beyond an execution's own timeout for starting and removing its sandbox. */
  @IsInt()
  @Min(5)
  @Max(600)
  EXECUTION_OVERHEAD_S = 30;
}
