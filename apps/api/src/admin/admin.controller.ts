import {
  CanActivate,
  Controller,
  ExecutionContext,
  Get,
  Inject,
  Injectable,
  Param,
  Query,
  UseGuards,
} from '@nestjs/common';
import type { Request } from 'express';
import { AdminEventsQueryDto, ErrorCodes, Subjects } from '@executor/contracts';
import { NatsRpc, RemoteError } from '@executor/common';
import { ApiConfig } from '../api.config';

/** Until the API has admin credentials, admin routes answer callers on loopback only. */
@Injectable()
export class LoopbackOnly implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const address = context.switchToHttp().getRequest<Request>().socket.remoteAddress ?? '';
    if (/^(127\.|::1$|::ffff:127\.)/.test(address)) return true;
    throw new RemoteError(ErrorCodes.Forbidden, 'admin routes answer on loopback only');
  }
}

@Controller('admin')
@UseGuards(LoopbackOnly)
export class AdminController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  /** `?stream=&type=&tenant=&stream_type=&from=&to=&after_position=&before_position=&limit=&order=` */
  @Get('events')
  async events(@Query() q: AdminEventsQueryDto) {
    const page = await this.rpc.send(Subjects.AdminEvents, { ...q }, this.config.RPC_TIMEOUT_MS * 2);
    return { status: 'success', ...page };
  }

  /** The whole history of one stream, e.g. `session-<id>` or `execution-<id>`. */
  @Get('streams/:id')
  async stream(@Param('id') id: string) {
    const page = await this.rpc.send(
      Subjects.AdminStream,
      { stream_id: id.slice(0, 200) },
      this.config.RPC_TIMEOUT_MS * 2,
    );
    if (page.events.length === 0) throw new RemoteError(ErrorCodes.NotFound, `no stream ${id.slice(0, 80)}`);
    return { status: 'success', stream_id: id, events: page.events };
  }
}
