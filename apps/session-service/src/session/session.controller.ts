import { Controller } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  Subjects,
  type SessionContextsCommand,
  type SessionCreateCommand,
  type SessionExecuteCommand,
  type SessionFilesCommand,
  type SessionLifetimeCommand,
  type SessionProcessCommand,
  type SessionRefCommand,
} from '@executor/contracts';
import { SessionService } from './session.service';

@Controller()
export class SessionController {
  constructor(private readonly sessions: SessionService) {}

  @MessagePattern(Subjects.SessionCreate)
  create(@Payload() cmd: SessionCreateCommand) {
    return this.sessions.create(cmd);
  }

  @MessagePattern(Subjects.SessionExecute)
  execute(@Payload() cmd: SessionExecuteCommand) {
    return this.sessions.execute(cmd);
  }

  @MessagePattern(Subjects.SessionDestroy)
  destroy(@Payload() cmd: SessionRefCommand) {
    return this.sessions.destroy(cmd);
  }

  @MessagePattern(Subjects.SessionGet)
  get(@Payload() cmd: SessionRefCommand) {
    return this.sessions.get(cmd);
  }

  @MessagePattern(Subjects.SessionSetLifetime)
  setLifetime(@Payload() cmd: SessionLifetimeCommand) {
    return this.sessions.setLifetime(cmd);
  }

  @MessagePattern(Subjects.SessionList)
  list(@Payload() cmd: { tenant_id: string }) {
    return this.sessions.list(cmd.tenant_id);
  }

  @MessagePattern(Subjects.SessionContexts)
  contexts(@Payload() cmd: SessionContextsCommand) {
    return this.sessions.contexts(cmd);
  }

  @MessagePattern(Subjects.SessionFiles)
  files(@Payload() cmd: SessionFilesCommand) {
    return this.sessions.files(cmd);
  }

  @MessagePattern(Subjects.SessionProcess)
  process(@Payload() cmd: SessionProcessCommand) {
    return this.sessions.process(cmd);
  }
}
