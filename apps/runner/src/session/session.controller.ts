import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Subjects,
  type RunnerSessionContexts,
  type RunnerSessionExecute,
  type RunnerSessionFiles,
  type RunnerSessionOpen,
  type RunnerSessionProcess,
} from '@executor/contracts';
import { SandboxProcesses } from '../process/sandbox-processes';
import { SessionSandboxes } from './session-sandboxes';

/** Every RunnerSessionSubject: the calls about the sandboxes of sessions (sessionRoutes says where). */
@Controller()
export class SessionSandboxController {
  constructor(
    private readonly sandboxes: SessionSandboxes,
    private readonly processes: SandboxProcesses,
  ) {}

  @MessagePattern(Subjects.RunnerSessionOpen)
  open(@Payload() req: RunnerSessionOpen) {
    return this.sandboxes.open(req);
  }

  @MessagePattern(Subjects.RunnerSessionExecute)
  execute(@Payload() req: RunnerSessionExecute) {
    return this.sandboxes.execute(req);
  }

  @MessagePattern(Subjects.RunnerSessionFiles)
  files(@Payload() req: RunnerSessionFiles) {
    return this.sandboxes.files(req);
  }

  @MessagePattern(Subjects.RunnerSessionContexts)
  contexts(@Payload() req: RunnerSessionContexts) {
    return this.sandboxes.contexts(req);
  }

  @MessagePattern(Subjects.RunnerSessionClose)
  close(@Payload() req: { session_id: string }) {
    return this.sandboxes.close(req.session_id);
  }

  @MessagePattern(Subjects.RunnerSessionList)
  list() {
    return this.sandboxes.list();
  }

  @MessagePattern(Subjects.RunnerSessionProcess)
  process(@Payload() req: RunnerSessionProcess) {
    return this.processes.handle(req);
  }
}
