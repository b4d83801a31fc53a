import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiParam, ApiTags } from '@nestjs/swagger';
import {
  AdminEventsQueryDto,
  ErrorCodes,
  EventPageDto,
  StreamHistoryDto,
  Subjects,
} from '@executor/contracts';
import { NatsRpc } from '@executor/common';
import { ApiConfig } from '../api.config';
import { apiError } from '../http/api-error';
import { ApiErrors } from '../openapi/api-responses';

/** Admin routes: an admin key where keys are configured, loopback callers where not (AuthGuard). */
@ApiTags('admin')
@Controller('admin')
export class AdminController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  /** `?stream=&type=&tenant=&stream_type=&from=&to=&after_position=&before_position=&limit=&order=` */
  @Get('events')
  @ApiOperation({ summary: 'Admin query of the event store (admin key, or loopback without keys)' })
  @ApiOkResponse({ type: EventPageDto })
  @ApiErrors(ErrorCodes.Forbidden)
  async events(@Query() q: AdminEventsQueryDto) {
    const page = await this.rpc.send(Subjects.AdminEvents, { ...q }, this.config.rpcTimeouts.storeQuery);
    return { status: 'success', ...page };
  }

  /** The whole history of one stream, e.g. `session-<id>` or `execution-<id>`. */
  @Get('streams/:id')
  @ApiOperation({ summary: 'The whole history of one stream' })
  @ApiParam({ name: 'id', description: 'A stream id, e.g. session-<uuid>' })
  @ApiOkResponse({ type: StreamHistoryDto })
  @ApiErrors(ErrorCodes.Forbidden, ErrorCodes.NotFound)
  async stream(@Param('id') id: string) {
    const page = await this.rpc.send(
      Subjects.AdminStream,
      { stream_id: id.slice(0, 200) },
      this.config.rpcTimeouts.storeQuery,
    );
    if (page.events.length === 0) throw apiError(ErrorCodes.NotFound, `no stream ${id.slice(0, 80)}`);
    return { status: 'success', stream_id: id, events: page.events };
  }
}
