import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Subjects,
  type RunnerSessionContexts,
  type RunnerSessionExecute,
  type RunnerSessionFiles,
  type RunnerSessionOpen,
} from '@executor/contracts';
import { SessionSandboxes } from './session-sandboxes';

@Controller()
export class SessionSandboxController {
  constructor(private readonly sandboxes: SessionSandboxes) {}

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
}
