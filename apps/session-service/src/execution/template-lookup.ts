import { Inject, Injectable } from '@nestjs/common';
import { Subjects, type TemplateSpec } from '@executor/contracts';
import { NatsRpc } from '@executor/common';
import { SessionServiceConfig } from '../session-service.config';

const FRESH_MS = 5000;

/**
 * Template specs from the template-service, kept for a few seconds: every execution needs
 * one, and a round trip per run is the largest part of a warm session call.
 */
@Injectable()
export class TemplateLookup {
  private readonly cache = new Map<string, { spec: TemplateSpec; at: number }>();

  constructor(
    private readonly rpc: NatsRpc,
    @Inject(SessionServiceConfig) private readonly config: SessionServiceConfig,
  ) {}

  async get(name: string): Promise<TemplateSpec> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < FRESH_MS) return hit.spec;
    const spec = await this.rpc.send(Subjects.TemplatesGet, { name }, this.config.RPC_TIMEOUT_MS);
    this.cache.set(name, { spec, at: Date.now() });
    return spec;
  }
}
