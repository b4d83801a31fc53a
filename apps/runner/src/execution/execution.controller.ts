import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Subjects, type ExecutionResult, type RunnerExecuteCommand } from '@executor/contracts';
import { ExecutionService } from './execution.service';

@Controller()
export class ExecutionController {
  constructor(private readonly executions: ExecutionService) {}

  @MessagePattern(Subjects.RunnerExecute)
  execute(@Payload() cmd: RunnerExecuteCommand): Promise<ExecutionResult> {
    return this.executions.execute(cmd);
  }
}
