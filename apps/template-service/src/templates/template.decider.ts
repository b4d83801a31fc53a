import { createHash } from 'node:crypto';
import {
  CommandRejected,
  ErrorCodes,
  exhaustive,
  MAX_ENV_ENTRIES,
  templateVisibleTo,
  type Decider,
  type DomainEvent,
  type EventDataMap,
  type RegisterTemplateDto,
  templateNotFoundMessage,
  type TemplateSpec,
} from '@executor/contracts';
import { capProblems, type TemplateCaps } from './template-caps';

type Registered = EventDataMap['TemplateRegistered'];
type TemplateEvent = Extract<DomainEvent, { type: 'TemplateRegistered' | 'TemplateDeleted' }>;

/** A built-in template (from `templates/<name>/`) and the content hash of its folder. */
export interface BuiltinTemplate {
  spec: TemplateSpec;
  hash: string;
}

/**
 * A custom template's stream (`template-<name>`): nothing yet, registered (with the tenant
 * that owns it, from the envelope; none: shared), or deleted (its name free again).
 */
export type TemplateState =
  | { status: 'none' }
  | { status: 'registered'; template: Registered; tenant_id?: string }
  | { status: 'deleted' };

/** What a decision needs beyond the template's own stream: the built-ins, the operator's rules, who asks. */
interface Catalog {
  builtins: ReadonlyMap<string, BuiltinTemplate>;
  /** A tenant key's tenant: it owns (or must own) the template. Absent: an admin or no keys. */
  tenant?: string;
}

export type TemplateCommand =
  | (Catalog & {
      type: 'RegisterTemplate';
      definition: RegisterTemplateDto;
      caps: TemplateCaps;
      allowNetwork: boolean;
      /** Custom templates one owner may hold at once, and how many the asking owner holds. */
      maxPerTenant: number;
      held: number;
    })
  | (Catalog & { type: 'DeleteTemplate'; name: string });

export const templateStream = (name: string) => `template-${name}`;

const ENV_KEY = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const initialState: TemplateState = { status: 'none' };
const sortedUnique = (list: string[] | undefined) => [...new Set(list ?? [])].sort();

/** The template a stream holds, if it is usable: one whose base is gone is skipped, its name free. */
function current(state: TemplateState, builtins: Catalog['builtins']) {
  return state.status === 'registered' && builtins.has(state.template.base) ? state : undefined;
}

function register(command: Extract<TemplateCommand, { type: 'RegisterTemplate' }>, state: TemplateState) {
  const { definition: dto, builtins, tenant } = command;
  if (builtins.has(dto.name)) {
    throw new CommandRejected(
      ErrorCodes.BuiltinTemplate,
      `name: ${dto.name} is a built-in template and cannot be shadowed`,
    );
  }
  const taken = current(state, builtins);
  if (taken) {
    throw new CommandRejected(
      ErrorCodes.TemplateExists,
      templateVisibleTo(taken, tenant)
        ? `name: a template named ${dto.name} exists; delete it first`
        : `name: ${dto.name} is taken (template names are one namespace across tenants); choose another`,
    );
  }
  const base = builtins.get(dto.base);
  if (!base) {
    throw new CommandRejected(
      ErrorCodes.ValidationError,
      `base: ${dto.base} is not a built-in template; one of ${[...builtins.keys()].join(', ')}`,
    );
  }
  const overCaps = capProblems(dto, command.caps);
  if (overCaps.length > 0) throw new CommandRejected(ErrorCodes.ValidationError, overCaps.join('; '));
  if (dto.network && !command.allowNetwork) {
    throw new CommandRejected(
      ErrorCodes.NetworkNotAllowed,
      'network: custom templates with network access need ALLOW_NETWORK_TEMPLATES set by an operator',
    );
  }
  if (command.held >= command.maxPerTenant) {
    const holder = tenant === undefined ? 'shared templates are' : `tenant ${tenant} is`;
    throw new CommandRejected(
      ErrorCodes.QuotaExceeded,
      `templates: ${holder} at the maximum of ${command.maxPerTenant} custom templates (MAX_TEMPLATES_PER_TENANT); delete one first`,
    );
  }
  const env = dto.env ?? {};
  if (Object.keys(env).length > MAX_ENV_ENTRIES) {
    throw new CommandRejected(ErrorCodes.ValidationError, `env must have at most ${MAX_ENV_ENTRIES} entries`);
  }
  for (const [k, v] of Object.entries(env)) {
    if (!ENV_KEY.test(k) || typeof v !== 'string' || v.length > 4096 || v.includes('\0')) {
      throw new CommandRejected(
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
  // The build cache key: what the image is made of, including the base's folder.
  const hash = createHash('sha256')
    .update(JSON.stringify({ base: base.spec.name, base_hash: base.hash, packages, setup }))
    .digest('hex')
    .slice(0, 16);
  const data: Registered = {
    name: dto.name,
    description:
      dto.description ??
      `${base.spec.description}, with ${[...packages.apt, ...packages.pip, ...packages.npm].join(', ') || 'nothing added'}`,
    base: base.spec.name,
    packages,
    memory_limit: dto.memory_limit ?? base.spec.memory_limit,
    cpu_limit: dto.cpu_limit ?? base.spec.cpu_limit,
    timeout: dto.timeout ?? base.spec.timeout,
    pids_limit: dto.pids_limit ?? base.spec.pids_limit,
    network: dto.network ?? false,
    env,
    setup_commands: setup,
    hash,
    image: `executor/custom:${hash}`,
  };
  return [{ type: 'TemplateRegistered', data } as const];
}

function remove(command: Extract<TemplateCommand, { type: 'DeleteTemplate' }>, state: TemplateState) {
  const { name, builtins, tenant } = command;
  if (builtins.has(name)) {
    throw new CommandRejected(
      ErrorCodes.BuiltinTemplate,
      `${name} is a built-in template and cannot be removed`,
    );
  }
  const found = current(state, builtins);
  if (!found)
    throw new CommandRejected(ErrorCodes.UnknownTemplate, `unknown template ${JSON.stringify(name)}`);
  if (!templateVisibleTo(found, tenant)) {
    // Another tenant's template: the same answer as none at all.
    throw new CommandRejected(ErrorCodes.NotFound, templateNotFoundMessage(name));
  }
  if (tenant !== undefined && found.tenant_id === undefined) {
    throw new CommandRejected(
      ErrorCodes.Forbidden,
      `${name} is a shared template (registered without a tenant key): only an admin key may remove it`,
    );
  }
  return [{ type: 'TemplateDeleted', data: { name } } as const];
}

function decide(command: TemplateCommand, state: TemplateState): TemplateEvent[] {
  switch (command.type) {
    case 'RegisterTemplate':
      return register(command, state);
    case 'DeleteTemplate':
      return remove(command, state);
    default:
      return exhaustive(command);
  }
}

function evolve(
  _state: TemplateState,
  event: TemplateEvent,
  { tenant_id }: { tenant_id: string | null },
): TemplateState {
  switch (event.type) {
    case 'TemplateRegistered':
      // The owner is the envelope's tenant_id, as for sessions; null: a shared template.
      return { status: 'registered', template: event.data, ...(tenant_id ? { tenant_id } : {}) };
    case 'TemplateDeleted':
      return { status: 'deleted' };
    default:
      return exhaustive(event);
  }
}

/** The Template aggregate's rules: validation, the build hash, ownership. Pure. */
export const TemplateDecider: Decider<TemplateState, TemplateCommand, TemplateEvent> = {
  initialState,
  decide,
  evolve,
};
export type { TemplateEvent };
