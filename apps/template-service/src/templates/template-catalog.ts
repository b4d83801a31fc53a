import { Injectable, Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import {
  StreamTypes,
  type EventDataMap,
  type EventEnvelope,
  type RegisterTemplateDto,
  type TemplateSpec,
  templateVisibleTo,
} from '@executor/contracts';
import { EventRecorder } from '@executor/common';
import { CommandHandler, EventStore } from '@executor/event-store';
import { parseManifest } from './manifest';
import { clampToCaps, type TemplateCaps } from './template-caps';
import {
  templateStream,
  TemplateDecider,
  type BuiltinTemplate,
  type TemplateCommand,
  type TemplateEvent,
  type TemplateState,
} from './template.decider';

type Registered = EventDataMap['TemplateRegistered'];

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
  private readonly builtins = new Map<string, BuiltinTemplate>();
  private readonly custom = new Map<string, TemplateSpec>();
  private readonly templates: CommandHandler<TemplateState, TemplateCommand, TemplateEvent>;

  constructor(
    private readonly store: EventStore,
    recorder: EventRecorder,
    private readonly caps: TemplateCaps,
  ) {
    this.templates = new CommandHandler(TemplateDecider, StreamTypes.Template, store, recorder);
  }

  loadBuiltins(dir: string): void {
    const root = resolve(dir);
    for (const entry of readdirSync(root, { withFileTypes: true })) {
      const file = join(root, entry.name, 'manifest.json');
      if (!entry.isDirectory() || !existsSync(file)) continue;
      try {
        const spec = parseManifest(JSON.parse(readFileSync(file, 'utf8')));
        if (spec.name !== entry.name)
          throw new Error(`name ${spec.name} differs from its folder ${entry.name}`);
        this.builtins.set(spec.name, {
          spec: this.heldToCaps(spec),
          hash: folderHash(join(root, entry.name)),
        });
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
    return this.builtins.get(name)?.spec ?? this.custom.get(name);
  }

  /** The templates a tenant sees (no tenant: all of them), by name. */
  all(tenant?: string): TemplateSpec[] {
    return [...[...this.builtins.values()].map((b) => b.spec), ...this.custom.values()]
      .filter((t) => templateVisibleTo(t, tenant))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Registers a custom template: the decider validates it and makes its event; the catalog applies it. */
  async register(dto: RegisterTemplateDto, ctx: RegisterContext): Promise<TemplateSpec> {
    const held = [...this.custom.values()].filter((c) => c.tenant_id === ctx.tenant).length;
    const { stored } = await this.templates.handle(
      templateStream(dto.name),
      {
        type: 'RegisterTemplate',
        definition: dto,
        builtins: this.builtins,
        tenant: ctx.tenant,
        caps: this.caps,
        allowNetwork: ctx.allowNetwork,
        maxPerTenant: ctx.maxPerTenant,
        held,
      },
      // The owner is the envelope's tenant_id, as for sessions; null: a shared template.
      { meta: { correlationId: ctx.correlationId, tenantId: ctx.tenant ?? null } },
    );
    stored.forEach((e) => this.apply(e));
    return this.custom.get(dto.name)!;
  }

  /** Removes a custom template: a tenant its own only; a shared one needs an admin key. */
  async delete(name: string, tenant: string | undefined, correlationId: string): Promise<void> {
    const { stored } = await this.templates.handle(
      templateStream(name),
      { type: 'DeleteTemplate', name, builtins: this.builtins, tenant },
      {
        meta: (state) => ({
          correlationId,
          tenantId: (state.status === 'registered' ? state.tenant_id : undefined) ?? null,
        }),
      },
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
    if (e.type === 'TemplateRegistered') {
      const d = e.data as Registered;
      const base = this.builtins.get(d.base)?.spec;
      if (!base) {
        this.logger.warn(`custom template ${d.name} skipped: its base ${d.base} is gone`);
        return;
      }
      // Caps may have been lowered since it was registered: it is held to today's.
      this.custom.set(
        d.name,
        this.heldToCaps({
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
      );
    } else if (e.type === 'TemplateDeleted') {
      this.custom.delete((e.data as EventDataMap['TemplateDeleted']).name);
    }
  }
}
