import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { DomainEvent, RegisterTemplateDto } from '@executor/contracts';
import { rejectionCode } from '@executor/contracts/testing/deciders';
import { parseManifest } from './manifest';
import {
  TemplateDecider,
  type BuiltinTemplate,
  type TemplateCommand,
  type TemplateEvent,
  type TemplateState,
} from './template.decider';

const { decide, evolve, initialState } = TemplateDecider;

const manifest = join(__dirname, '..', '..', '..', '..', 'templates', 'default', 'manifest.json');
const base = parseManifest(JSON.parse(readFileSync(manifest, 'utf8')));
const builtins = new Map<string, BuiltinTemplate>([['default', { spec: base, hash: 'h0' }]]);
const caps = { memory: '2g', cpus: 2, pids: 512, timeoutS: 300 };

/** Given events (each with the tenant on its envelope), when a command, then events or a code. */
function given(...events: Array<[DomainEvent, string | null]>): TemplateState {
  return events.reduce(
    (s, [e, tenant]) =>
      evolve(s, e as TemplateEvent, { occurred_at: '2026-01-01T00:00:00.000Z', tenant_id: tenant }),
    initialState,
  );
}

const rejection = (command: TemplateCommand, state: TemplateState) =>
  rejectionCode(TemplateDecider, command, state);

const register = (
  definition: Partial<RegisterTemplateDto> = {},
  more: Partial<Extract<TemplateCommand, { type: 'RegisterTemplate' }>> = {},
): TemplateCommand => ({
  type: 'RegisterTemplate',
  definition: { name: 'data', base: 'default', ...definition },
  builtins,
  caps,
  allowNetwork: false,
  maxPerTenant: 3,
  held: 0,
  ...more,
});
const remove = (tenant?: string): TemplateCommand => ({
  type: 'DeleteTemplate',
  name: 'data',
  builtins,
  tenant,
});

const registeredEvent = (): DomainEvent => decide(register(), initialState)[0];
const deleted: DomainEvent = { type: 'TemplateDeleted', data: { name: 'data' } };

describe('Template decider', () => {
  it('registers a template on a free name: the base fills what is not given, the hash keys the build', () => {
    const [event] = decide(
      register({ packages: { apt: [], pip: ['pandas', 'numpy', 'numpy'], npm: [] }, timeout: 60 }),
      initialState,
    );
    const packages = { apt: [], pip: ['numpy', 'pandas'], npm: [] };
    const hash = createHash('sha256')
      .update(JSON.stringify({ base: 'default', base_hash: 'h0', packages, setup: [] }))
      .digest('hex')
      .slice(0, 16);
    expect(event).toEqual({
      type: 'TemplateRegistered',
      data: {
        name: 'data',
        description: `${base.description}, with numpy, pandas`,
        base: 'default',
        packages,
        memory_limit: base.memory_limit,
        cpu_limit: base.cpu_limit,
        timeout: 60,
        pids_limit: base.pids_limit,
        network: false,
        env: {},
        setup_commands: [],
        hash,
        image: `executor/custom:${hash}`,
      },
    });
    // The stored JSON keeps its field order.
    expect(Object.keys(event.data)).toEqual([
      'name',
      'description',
      'base',
      'packages',
      'memory_limit',
      'cpu_limit',
      'timeout',
      'pids_limit',
      'network',
      'env',
      'setup_commands',
      'hash',
      'image',
    ]);
  });

  it('changes the hash when the base folder or the setup changes, not when packages are reordered', () => {
    const hashOf = (cmd: TemplateCommand) => (decide(cmd, initialState)[0].data as { hash: string }).hash;
    const plain = hashOf(register({ packages: { apt: ['jq', 'curl'], pip: [], npm: [] } }));
    expect(hashOf(register({ packages: { apt: ['curl', 'jq'], pip: [], npm: [] } }))).toBe(plain);
    expect(
      hashOf(register({ packages: { apt: ['jq', 'curl'], pip: [], npm: [] }, setup_commands: ['true'] })),
    ).not.toBe(plain);
    const changedBase = new Map([['default', { spec: base, hash: 'h1' }]]);
    expect(
      hashOf(register({ packages: { apt: ['jq', 'curl'], pip: [], npm: [] } }, { builtins: changedBase })),
    ).not.toBe(plain);
  });

  it('keeps the owner from the envelope', () => {
    expect(given([registeredEvent(), 'acme'])).toMatchObject({ status: 'registered', tenant_id: 'acme' });
    expect(given([registeredEvent(), null])).not.toHaveProperty('tenant_id');
  });

  it('refuses a built-in name, a taken name, and frees the name once deleted', () => {
    expect(rejection(register({ name: 'default' }), initialState)).toBe('BUILTIN_TEMPLATE');
    const taken = given([registeredEvent(), 'acme']);
    expect(rejection(register(), taken)).toBe('TEMPLATE_EXISTS');
    const ownMessage = (tenant?: string) => {
      try {
        decide(register({}, { tenant }), taken);
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(ownMessage('acme')).toContain('delete it first');
    // Another tenant learns only that the name is taken, not whose it is.
    expect(ownMessage('other')).toContain('one namespace across tenants');
    expect(decide(register(), given([registeredEvent(), 'acme'], [deleted, 'acme']))).toHaveLength(1);
  });

  it('frees the name of a template whose base is gone', () => {
    const orphan = given([registeredEvent(), null]);
    const elsewhere = new Map([['other', { spec: { ...base, name: 'other' }, hash: 'h2' }]]);
    expect(decide(register({ base: 'other' }, { builtins: elsewhere }), orphan)).toHaveLength(1);
    expect(rejection({ type: 'DeleteTemplate', name: 'data', builtins: elsewhere }, orphan)).toBe(
      'UNKNOWN_TEMPLATE',
    );
  });

  it('refuses bad definitions with the code that says why', () => {
    expect(rejection(register({ base: 'nope' }), initialState)).toBe('VALIDATION_ERROR');
    expect(rejection(register({ memory_limit: '64g' }), initialState)).toBe('VALIDATION_ERROR');
    expect(rejection(register({ network: true }), initialState)).toBe('NETWORK_NOT_ALLOWED');
    expect(decide(register({ network: true }, { allowNetwork: true }), initialState)).toHaveLength(1);
    expect(rejection(register({}, { held: 3 }), initialState)).toBe('QUOTA_EXCEEDED');
    expect(rejection(register({ env: { 'BAD-KEY': 'x' } }), initialState)).toBe('VALIDATION_ERROR');
    expect(rejection(register({ env: { OK: 'a\0b' } }), initialState)).toBe('VALIDATION_ERROR');
    const many = Object.fromEntries(Array.from({ length: 300 }, (_, i) => [`K${i}`, 'v']));
    expect(rejection(register({ env: many }), initialState)).toBe('VALIDATION_ERROR');
  });

  it('deletes a tenant its own template; another tenant sees none; a shared one needs an admin', () => {
    const owned = given([registeredEvent(), 'acme']);
    expect(decide(remove('acme'), owned)).toEqual([deleted]);
    expect(decide(remove(), owned)).toEqual([deleted]);
    expect(rejection(remove('other'), owned)).toBe('NOT_FOUND');
    const shared = given([registeredEvent(), null]);
    expect(rejection(remove('acme'), shared)).toBe('FORBIDDEN');
    expect(decide(remove(), shared)).toEqual([deleted]);
    expect(rejection(remove(), initialState)).toBe('UNKNOWN_TEMPLATE');
    expect(rejection(remove(), given([registeredEvent(), null], [deleted, null]))).toBe('UNKNOWN_TEMPLATE');
    expect(rejection({ type: 'DeleteTemplate', name: 'default', builtins }, initialState)).toBe(
      'BUILTIN_TEMPLATE',
    );
  });
});
