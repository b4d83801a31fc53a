import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Subjects, type ExecuteCommand, type ExecutionResult } from '@executor/contracts';
import { OneOffExecutionService } from './one-off-execution.service';

@Controller()
export class ExecutionController {
  constructor(private readonly oneOff: OneOffExecutionService) {}

  @MessagePattern(Subjects.ExecutionRun)
  run(@Payload() cmd: ExecuteCommand): Promise<ExecutionResult> {
    return this.oneOff.run(cmd);
  }
}
