import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { MetricsReplyDto, Subjects } from '@executor/contracts';
import { NatsRpc } from '@executor/common';
import { ApiConfig } from '../api.config';
import { ApiErrors } from '../openapi/api-responses';

@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Metrics projected from the event log' })
  @ApiOkResponse({ type: MetricsReplyDto })
  @ApiErrors()
  async metrics() {
    const metrics = await this.rpc.send(Subjects.MetricsGet, {}, this.config.RPC_TIMEOUT_MS);
    return { status: 'success', metrics };
  }

  @Get('prometheus')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiOperation({ summary: 'Prometheus text exposition (version 0.0.4)' })
  @ApiOkResponse({
    description: 'text/plain; version=0.0.4',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiErrors()
  async prometheus(): Promise<string> {
    return (await this.rpc.send(Subjects.MetricsPrometheus, {}, this.config.RPC_TIMEOUT_MS)).text;
  }
}
