import { Controller, Get, Inject } from '@nestjs/common';
import { Subjects } from '@executor/contracts';
import { NatsRpc } from '@executor/common';
import { ApiConfig } from '../api.config';

@Controller('templates')
export class TemplatesController {
  constructor(
    private readonly rpc: NatsRpc,
    @Inject(ApiConfig) private readonly config: ApiConfig,
  ) {}

  @Get()
  async list() {
    const templates = await this.rpc.send(Subjects.TemplatesList, {}, this.config.RPC_TIMEOUT_MS * 2);
    return { status: 'success', templates };
  }
}
