import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  ErrorCodes,
  EventTypes,
  MAX_ENV_ENTRIES,
  StreamTypes,
  type EventDataMap,
  type EventEnvelope,
  type RegisterTemplateDto,
  templateNotFoundMessage,
  type TemplateSpec,
  templateVisibleTo,
} from '@executor/contracts';
import { domainError, EventRecorder } from '@executor/common';
import { EventStore } from '@executor/event-store';
import { parseManifest } from './manifest';
import { capProblems, clampToCaps, type TemplateCaps } from './template-caps';

type Registered = EventDataMap['TemplateRegistered'];
const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/** Content hash of a template folder: a change to a built-in changes the hash of what builds on it. */
function folderHash(dir: string): string {
  const hash = createHash('sha256');
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) hash.update(`${relative(dir, p)}\0`).update(readFileSync(p));
    }
  };
  walk(dir);
  return hash.digest('hex');
}

const sortedUnique = (list: string[] | undefined) => [...new Set(list ?? [])].sort();

/** How a template may be registered: operator settings and who asks. */
export interface RegisterContext {
  allowNetwork: boolean;
  /** Custom templates one owner may hold at once. */
  maxPerTenant: number;
  /** A tenant key's tenant: it owns the template. Absent: a shared template (admin, no keys). */
  tenant?: string;
  correlationId: string;
}

/**
 * The Template aggregate: built-ins read from `templates/<name>/manifest.json`, custom
 * templates rebuilt from TemplateRegistered/TemplateDeleted events at start. Every template is
 * held to the operator's caps; a custom one registered with a tenant key is that tenant's only.
 */
@Injectable()
export class TemplateCatalog {
  private readonly logger = new Logger(TemplateCatalog.name);
  private readonly builtins = new Map<string, TemplateSpec>();
  private readonly builtinHashes = new Map<string, string>();
  private readonly custom = new Map<string, { spec: TemplateSpec; version: number }>();
  private readonly versions = new Map<string, number>();

  constructor(
    private readonly store: EventStore,
    private readonly recorder: EventRecorder,
    private readonly caps: TemplateCaps,
  ) {}

  loadBuiltins(dir: string): void {
    const root = resolve(dir);
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      const file = join(root, entry.name, 'manifest.json');
      if (!entry.isDirectory() || !existsSync(file)) continue;
      try {
        const spec = parseManifest(JSON.parse(readFileSync(file, 'utf8')));
        if (spec.name !== entry.name)
          throw new Error(`name ${spec.name} differs from its folder ${entry.name}`);
        this.builtins.set(spec.name, this.heldToCaps(spec));
        this.builtinHashes.set(spec.name, folderHash(join(root, entry.name)));
      } catch (err) {
        // One bad manifest must not take the others down; it is named in the log.
        this.logger.error(
          `template ${entry.name} skipped: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
    }
    this.logger.log(
      `loaded ${this.builtins.size} built-in template(s): ${[...this.builtins.keys()].join(', ')}`,
    );
  }

  /** Rebuilds the custom templates from the log. */
  async loadCustom(): Promise<void> {
    for await (const e of this.store.scan({ stream_type: StreamTypes.Template })) this.apply(e);
    this.logger.log(`rebuilt ${this.custom.size} custom template(s) from the log`);
  }

  /** Any template by name, whoever owns it (callers check visibility). */
  get(name: string): TemplateSpec | undefined {
    return this.builtins.get(name) ?? this.custom.get(name)?.spec;
  }

  /** The templates a tenant sees (no tenant: all of them), by name. */
  all(tenant?: string): TemplateSpec[] {
    return [...this.builtins.values(), ...[...this.custom.values()].map((c) => c.spec)]
      .filter((t) => templateVisibleTo(t, tenant))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async register(dto: RegisterTemplateDto, ctx: RegisterContext): Promise<TemplateSpec> {
    if (this.builtins.has(dto.name)) {
      throw domainError(
        ErrorCodes.BuiltinTemplate,
        `name: ${dto.name} is a built-in template and cannot be shadowed`,
      );
    }
    const taken = this.custom.get(dto.name)?.spec;
    if (taken) {
      throw domainError(
        ErrorCodes.TemplateExists,
        templateVisibleTo(taken, ctx.tenant)
          ? `name: a template named ${dto.name} exists; delete it first`
          : `name: ${dto.name} is taken (template names are one namespace across tenants); choose another`,
      );
    }
    const base = this.builtins.get(dto.base);
    if (!base) {
      throw domainError(
        ErrorCodes.ValidationError,
        `base: ${dto.base} is not a built-in template; one of ${[...this.builtins.keys()].join(', ')}`,
      );
    }
    const overCaps = capProblems(dto, this.caps);
    if (overCaps.length > 0) throw domainError(ErrorCodes.ValidationError, overCaps.join('; '));
    if (dto.network && !ctx.allowNetwork) {
      throw domainError(
        ErrorCodes.NetworkNotAllowed,
        'network: custom templates with network access need ALLOW_NETWORK_TEMPLATES set by an operator',
      );
    }
    const held = [...this.custom.values()].filter((c) => c.spec.tenant_id === ctx.tenant).length;
    if (held >= ctx.maxPerTenant) {
      const holder = ctx.tenant === undefined ? 'shared templates are' : `tenant ${ctx.tenant} is`;
      throw domainError(
        ErrorCodes.QuotaExceeded,
        `templates: ${holder} at the maximum of ${ctx.maxPerTenant} custom templates (MAX_TEMPLATES_PER_TENANT); delete one first`,
      );
    }
    const env = dto.env ?? {};
    if (Object.keys(env).length > MAX_ENV_ENTRIES) {
      throw domainError(ErrorCodes.ValidationError, `env must have at most ${MAX_ENV_ENTRIES} entries`);
    }
    for (const [k, v] of Object.entries(env)) {
      if (!ENV_KEY.test(k) || typeof v !== 'string' || v.length > 4096 || v.includes('\0')) {
        throw domainError(
          ErrorCodes.ValidationError,
          `env: ${k.slice(0, 40)} must be a variable name with a string value`,
        );
      }
    }
    const packages = {
      apt: sortedUnique(dto.packages?.apt),
      pip: sortedUnique(dto.packages?.pip),
      npm: sortedUnique(dto.packages?.npm),
    };
    const setup = dto.setup_commands ?? [];
    const hash = createHash('sha256')
      .update(
        JSON.stringify({ base: base.name, base_hash: this.builtinHashes.get(base.name), packages, setup }),
      )
      .digest('hex')
      .slice(0, 16);
    const data: Registered = {
      name: dto.name,
      description:
        dto.description ??
        `${base.description}, with ${[...packages.apt, ...packages.pip, ...packages.npm].join(', ') || 'nothing added'}`,
      base: base.name,
      packages,
      memory_limit: dto.memory_limit ?? base.memory_limit,
      cpu_limit: dto.cpu_limit ?? base.cpu_limit,
      timeout: dto.timeout ?? base.timeout,
      pids_limit: dto.pids_limit ?? base.pids_limit,
      network: dto.network ?? false,
      env,
      setup_commands: setup,
      hash,
      image: `executor/custom:${hash}`,
    };
    const stored = await this.recorder.record(
      `template-${dto.name}`,
      StreamTypes.Template,
      this.versions.get(dto.name) ?? 0,
      [{ type: EventTypes.TemplateRegistered, data }],
      // The owner is the envelope's tenant_id, as for sessions; null: a shared template.
      { correlationId: ctx.correlationId, tenantId: ctx.tenant ?? null },
    );
    stored.forEach((e) => this.apply(e));
    return this.custom.get(dto.name)!.spec;
  }

  /** Removes a custom template: a tenant its own only; a shared one needs an admin key. */
  async delete(name: string, tenant: string | undefined, correlationId: string): Promise<void> {
    if (this.builtins.has(name)) {
      throw domainError(ErrorCodes.BuiltinTemplate, `${name} is a built-in template and cannot be removed`);
    }
    const found = this.custom.get(name)?.spec;
    if (!found) throw domainError(ErrorCodes.UnknownTemplate, `unknown template ${JSON.stringify(name)}`);
    if (!templateVisibleTo(found, tenant))
      throw domainError(ErrorCodes.NotFound, templateNotFoundMessage(name));
    if (tenant !== undefined && found.tenant_id === undefined) {
      throw domainError(
        ErrorCodes.Forbidden,
        `${name} is a shared template (registered without a tenant key): only an admin key may remove it`,
      );
    }
    const stored = await this.recorder.record(
      `template-${name}`,
      StreamTypes.Template,
      this.versions.get(name) ?? 0,
      [{ type: EventTypes.TemplateDeleted, data: { name } }],
      { correlationId, tenantId: found.tenant_id ?? null },
    );
    stored.forEach((e) => this.apply(e));
  }

  /** A template with its limits lowered to the caps, each lowering logged. */
  private heldToCaps(spec: TemplateSpec): TemplateSpec {
    const { limits, clamped } = clampToCaps(spec, this.caps);
    if (clamped.length > 0) this.logger.warn(`template ${spec.name}: ${clamped.join('; ')}`);
    return limits;
  }

  private apply(e: EventEnvelope): void {
    if (!e.stream_id.startsWith('template-')) return; // build events live on image-<hash> streams
    this.versions.set(e.stream_id.slice('template-'.length), e.version);
    if (e.type === 'TemplateRegistered') {
      const d = e.data as Registered;
      const base = this.builtins.get(d.base);
      if (!base) {
        this.logger.warn(`custom template ${d.name} skipped: its base ${d.base} is gone`);
        return;
      }
      this.custom.set(d.name, {
        version: e.version,
        // Caps may have been lowered since it was registered: it is held to today's.
        spec: this.heldToCaps({
          name: d.name,
          description: d.description,
          image: d.image,
          languages: base.languages,
          memory_limit: d.memory_limit,
          cpu_limit: d.cpu_limit,
          timeout: d.timeout,
          network: d.network,
          pids_limit: d.pids_limit ?? base.pids_limit,
          env: { ...base.env, ...d.env },
          packages: d.packages,
          kernel: base.kernel,
          ...(base.context_kernels ? { context_kernels: base.context_kernels } : {}),
          preload: base.preload,
          packages_missing: [],
          build: {
            kind: 'custom',
            hash: d.hash,
            base_image: base.image,
            packages: d.packages,
            setup_commands: d.setup_commands,
          },
          builtin: false,
          ...(e.tenant_id ? { tenant_id: e.tenant_id } : {}),
        }),
      });
    } else if (e.type === 'TemplateDeleted') {
      this.custom.delete((e.data as EventDataMap['TemplateDeleted']).name);
    }
  }
}
