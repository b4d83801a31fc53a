import { Controller, Inject, Logger } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  ErrorCodes,
  Subjects,
  type ImageStatusReply,
  type ServiceHealthReply,
  type TemplateGetRequest,
  type TemplateSpec,
  type TemplateSummary,
} from '@executor/contracts';
import { domainError, NatsRpc } from '@executor/common';
import { TemplateServiceConfig } from '../template-service.config';
import { TemplateCatalog } from './template-catalog';

@Controller()
export class TemplatesController {
  private readonly logger = new Logger(TemplatesController.name);

  constructor(
    private readonly catalog: TemplateCatalog,
    private readonly rpc: NatsRpc,
    @Inject(TemplateServiceConfig) private readonly config: TemplateServiceConfig,
  ) {}

  @MessagePattern(Subjects.TemplatesGet)
  get(@Payload() req: TemplateGetRequest): TemplateSpec {
    const spec = typeof req?.name === 'string' ? this.catalog.get(req.name) : undefined;
    if (!spec) {
      const known = this.catalog
        .all()
        .map((t) => t.name)
        .join(', ');
      throw domainError(
        ErrorCodes.UnknownTemplate,
        `unknown template ${JSON.stringify(req?.name)}; known: ${known}`,
      );
    }
    return spec;
  }

  @MessagePattern(Subjects.TemplatesList)
  async list(): Promise<TemplateSummary[]> {
    const templates = this.catalog.all();
    let status: ImageStatusReply = {};
    try {
      status = await this.rpc.send(
        Subjects.RunnerImageStatus,
        { images: templates.map((t) => t.image) },
        this.config.RPC_TIMEOUT_MS,
      );
    } catch (err) {
      // The list is still useful without the runner; image status is then unknown.
      this.logger.warn(`image status unavailable: ${err instanceof Error ? err.message : String(err)}`);
    }
    return templates.map((t) => ({
      name: t.name,
      description: t.description,
      memory_limit: t.memory_limit,
      cpu_limit: t.cpu_limit,
      timeout: t.timeout,
      network: t.network,
      languages: t.languages,
      package_count: Object.values(t.packages).reduce((n, list) => n + list.length, 0),
      image_status: status[t.image] ?? 'unknown',
    }));
  }

  @MessagePattern(Subjects.TemplateHealth)
  health(): ServiceHealthReply {
    const count = this.catalog.all().length;
    return {
      service: 'template-service',
      checks: {
        catalog: count > 0 ? { status: 'healthy' } : { status: 'unhealthy', error: 'no templates loaded' },
      },
    };
  }
}
