import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Subjects } from '@executor/contracts';
import { NatsRpc } from '@executor/common';
import { ApiConfig } from '../api.config';

@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  @Get()
  async metrics() {
    const metrics = await this.rpc.send(Subjects.MetricsGet, {}, this.config.RPC_TIMEOUT_MS);
    return { status: 'success', metrics };
  }

  @Get('prometheus')
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async prometheus(): Promise<string> {
    return (await this.rpc.send(Subjects.MetricsPrometheus, {}, this.config.RPC_TIMEOUT_MS)).text;
  }
}
