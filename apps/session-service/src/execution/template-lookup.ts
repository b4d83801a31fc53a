import { Inject, Injectable } from '@nestjs/common';
import {
  ErrorCodes,
  Subjects,
  templateNotFoundMessage,
  templateVisibleTo,
  type TemplateSpec,
} from '@executor/contracts';
import { domainError, NatsRpc } from '@executor/common';
import { SessionServiceConfig } from '../session-service.config';

const FRESH_MS = 5000;

/**
 * Template specs from the template-service, kept for a few seconds: every execution needs
 * one, and a round trip per run is the largest part of a warm session call. A template is
 * looked up for the tenant that runs it: another tenant's is not found, from the cache too.
 */
@Injectable()
export class TemplateLookup {
  private readonly cache = new Map<string, { spec: TemplateSpec; at: number }>();

  constructor(
    private readonly rpc: NatsRpc,
    @Inject(SessionServiceConfig) private readonly config: SessionServiceConfig,
  ) {}

  async get(name: string, tenant: string): Promise<TemplateSpec> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < FRESH_MS) {
      if (!templateVisibleTo(hit.spec, tenant))
        throw domainError(ErrorCodes.NotFound, templateNotFoundMessage(name));
      return hit.spec;
    }
    const spec = await this.rpc.send(
      Subjects.TemplatesGet,
      { name, tenant_id: tenant },
      this.config.RPC_TIMEOUT_MS,
    );
    this.cache.set(name, { spec, at: Date.now() });
    return spec;
  }
}

/** The language a run uses: the one asked for, or the template's first; one it does not run is refused. */
export function resolveLanguage(template: TemplateSpec, asked: string | undefined): string {
  const language = asked ?? template.languages[0];
  if (!template.languages.includes(language)) {
    throw domainError(
      ErrorCodes.UnsupportedLanguage,
      `template ${template.name} does not run ${language}; it runs: ${template.languages.join(', ')}`,
    );
  }
  return language;
}
