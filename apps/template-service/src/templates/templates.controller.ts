import { Controller, Inject, Logger } from '@nestjs/common';
import { MessagePattern, Payload } from '@nestjs/microservices';
import {
  ErrorCodes,
  Subjects,
  templateNotFoundMessage,
  templateVisibleTo,
  type DeleteTemplateCommand,
  type ImageStatusInfo,
  type ImageStatusReply,
  type RegisterTemplateCommand,
  type ServiceHealthReply,
  type TemplateGetRequest,
  type TemplateListRequest,
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
    return this.find(req?.name, tenantOf(req));
  }

  @MessagePattern(Subjects.TemplatesDescribe)
  async describe(@Payload() req: TemplateGetRequest): Promise<TemplateSummary> {
    const spec = this.find(req?.name, tenantOf(req));
    const status = await this.imageStatus([spec]);
    return summary(spec, status[spec.image]);
  }

  @MessagePattern(Subjects.TemplatesList)
  async list(@Payload() req: TemplateListRequest): Promise<TemplateSummary[]> {
    const templates = this.catalog.all(tenantOf(req));
    const status = await this.imageStatus(templates);
    return templates.map((t) => summary(t, status[t.image]));
  }

  /** Registers a custom template and starts building its image (or finds it built). */
  @MessagePattern(Subjects.TemplatesRegister)
  async register(@Payload() cmd: RegisterTemplateCommand): Promise<TemplateSummary> {
    const { correlation_id, tenant_id, ...dto } = cmd;
    const spec = await this.catalog.register(dto, {
      allowNetwork: this.config.ALLOW_NETWORK_TEMPLATES,
      maxPerTenant: this.config.MAX_TEMPLATES_PER_TENANT,
      tenant: tenantOf({ tenant_id }),
      correlationId: correlation_id,
    });
    let status: ImageStatusInfo = { status: 'unknown' };
    try {
      status = await this.rpc.send(
        Subjects.RunnerImageBuild,
        { image: spec.image, template: spec.name, build: spec.build },
        this.config.RPC_TIMEOUT_MS,
      );
    } catch (err) {
      // Registered all the same: the image is built on first use.
      this.logger.warn(
        `could not start the build of ${spec.name}: ${err instanceof Error ? err.message : String(err)}`,
      );
    }
    return summary(spec, status);
  }

  @MessagePattern(Subjects.TemplatesDelete)
  async delete(@Payload() req: DeleteTemplateCommand): Promise<{ name: string }> {
    await this.catalog.delete(req.name, tenantOf(req), req.correlation_id);
    return { name: req.name };
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

  /** A template the asker may see; another tenant's answers as not found. */
  private find(name: unknown, tenant: string | undefined): TemplateSpec {
    const spec = typeof name === 'string' ? this.catalog.get(name) : undefined;
    if (spec && !templateVisibleTo(spec, tenant))
      throw domainError(ErrorCodes.NotFound, templateNotFoundMessage(String(name)));
    if (!spec) {
      const known = this.catalog
        .all(tenant)
        .map((t) => t.name)
        .join(', ');
      throw domainError(
        ErrorCodes.UnknownTemplate,
        `unknown template ${JSON.stringify(name)}; known: ${known}`,
      );
    }
    return spec;
  }

  /** Image status from the runner; without it the list is still useful, with status unknown. */
  private async imageStatus(templates: TemplateSpec[]): Promise<ImageStatusReply> {
    try {
      return await this.rpc.send(
        Subjects.RunnerImageStatus,
        { images: templates.map((t) => t.image) },
        this.config.RPC_TIMEOUT_MS,
      );
    } catch (err) {
      this.logger.warn(`image status unavailable: ${err instanceof Error ? err.message : String(err)}`);
      return {};
    }
  }
}

/** The tenant a request is scoped to; anything but a string is no tenant (sees all). */
function tenantOf(req: { tenant_id?: unknown } | undefined): string | undefined {
  return typeof req?.tenant_id === 'string' ? req.tenant_id : undefined;
}

function summary(t: TemplateSpec, image: ImageStatusInfo | undefined): TemplateSummary {
  return {
    name: t.name,
    description: t.description,
    memory_limit: t.memory_limit,
    cpu_limit: t.cpu_limit,
    timeout: t.timeout,
    pids_limit: t.pids_limit,
    network: t.network,
    languages: t.languages,
    kernel: t.kernel,
    builtin: t.builtin,
    packages: t.packages,
    package_count: Object.values(t.packages).reduce((n, list) => n + list.length, 0),
    packages_missing: t.packages_missing,
    image: t.image,
    image_status: image?.status ?? 'unknown',
    ...(image?.size_bytes !== undefined ? { image_size: image.size_bytes } : {}),
    ...(image?.error ? { build_error: image.error, build_log: image.log_tail ?? [] } : {}),
    ...(!image?.error && image?.log_tail ? { build_log: image.log_tail } : {}),
    ...(t.tenant_id !== undefined ? { tenant_id: t.tenant_id } : {}),
  };
}
