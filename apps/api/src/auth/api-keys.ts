import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { TENANT_PATTERN } from '@executor/contracts';

export type Role = 'tenant' | 'admin';

/** Per-tenant limits a key may carry; missing ones fall back to the API's defaults. */
export interface TenantLimits {
  executions_per_minute?: number;
  concurrent_executions?: number;
  max_timeout_s?: number;
}

export interface Principal {
  tenant: string;
  role: Role;
  limits: TenantLimits;
}

interface StoredKey extends Principal {
  hash: Buffer;
}

export const hashKey = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

/**
 * The access token of one E2B sandbox (`envdAccessToken`): an HMAC of the sandbox id keyed with
 * the hash of the API key that created or connected to it. It opens that sandbox only, and the
 * API stays stateless: the token is checked against the keys it already holds.
 */
export function sandboxToken(keySha256Hex: string, sandboxId: string): string {
  return createHmac('sha256', Buffer.from(keySha256Hex, 'hex'))
    .update(`e2b-sandbox:${sandboxId}`)
    .digest('base64url');
}

/**
 * API keys, kept only as SHA-256 hashes. From a JSON file
 * (`[{"key_sha256", "tenant", "role", "limits"?}]`) and/or the environment
 * (`EXECUTOR_API_KEYS="tenant:role:key,…"`, hashed when read; the plain keys are never kept).
 */
export class ApiKeys {
  private constructor(private readonly keys: StoredKey[]) {}

  static load(file: string, env: string): ApiKeys {
    const keys: StoredKey[] = [];
    if (file) {
      if (!existsSync(file)) throw new Error(`API_KEYS_FILE ${file} does not exist`);
      const entries = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      if (!Array.isArray(entries)) throw new Error('API_KEYS_FILE must hold a JSON array');
      entries.forEach((e, i) => keys.push(checked(e, `API_KEYS_FILE entry ${i}`)));
    }
    for (const [i, item] of env.split(',').entries()) {
      if (!item.trim()) continue;
      const [tenant, role, ...rest] = item.trim().split(':');
      const key = rest.join(':');
      if (!key) throw new Error(`EXECUTOR_API_KEYS item ${i} must be tenant:role:key`);
      keys.push(checked({ tenant, role, key_sha256: hashKey(key) }, `EXECUTOR_API_KEYS item ${i}`));
    }
    return new ApiKeys(keys);
  }

  get enabled(): boolean {
    return this.keys.length > 0;
  }

  /** The principal of a presented key, compared in constant time; undefined when unknown. */
  find(presented: string): Principal | undefined {
    const hash = Buffer.from(hashKey(presented), 'hex');
    let found: StoredKey | undefined;
    for (const k of this.keys) if (timingSafeEqual(k.hash, hash)) found = k;
    return found ? { tenant: found.tenant, role: found.role, limits: found.limits } : undefined;
  }

  /** The principal whose key issued a sandbox's access token; undefined when none did. */
  findBySandboxToken(token: string, sandboxId: string): Principal | undefined {
    const presented = Buffer.from(token, 'utf8');
    let found: StoredKey | undefined;
    for (const k of this.keys) {
      const expected = Buffer.from(sandboxToken(k.hash.toString('hex'), sandboxId), 'utf8');
      if (expected.length === presented.length && timingSafeEqual(expected, presented)) found = k;
    }
    return found ? { tenant: found.tenant, role: found.role, limits: found.limits } : undefined;
  }
}

function checked(raw: unknown, where: string): StoredKey {
  const e = raw as { key_sha256?: unknown; tenant?: unknown; role?: unknown; limits?: unknown };
  if (typeof e?.key_sha256 !== 'string' || !/^[0-9a-f]{64}$/.test(e.key_sha256)) {
    throw new Error(`${where}: key_sha256 must be a hex SHA-256`);
  }
  if (typeof e.tenant !== 'string' || !TENANT_PATTERN.test(e.tenant))
    throw new Error(`${where}: invalid tenant`);
  if (e.role !== 'tenant' && e.role !== 'admin') throw new Error(`${where}: role must be tenant or admin`);
  const limits = (e.limits ?? {}) as TenantLimits;
  for (const [k, v] of Object.entries(limits)) {
    if (
      !['executions_per_minute', 'concurrent_executions', 'max_timeout_s'].includes(k) ||
      !Number.isInteger(v) ||
      (v as number) < 1
    ) {
      throw new Error(`${where}: limits.${k} must be a known limit with a whole number >= 1`);
    }
  }
  return { hash: Buffer.from(e.key_sha256, 'hex'), tenant: e.tenant, role: e.role, limits };
}
