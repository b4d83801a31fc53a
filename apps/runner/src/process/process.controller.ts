import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import { Subjects, type RunnerSessionProcess } from '@executor/contracts';
import { SandboxProcesses } from './sandbox-processes';

@Controller()
export class SandboxProcessController {
  constructor(private readonly processes: SandboxProcesses) {}

  @MessagePattern(Subjects.RunnerSessionProcess)
  process(@Payload() req: RunnerSessionProcess) {
    return this.processes.handle(req);
  }
}
