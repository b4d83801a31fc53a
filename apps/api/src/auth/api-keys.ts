import { createHash, timingSafeEqual } from 'node:crypto';
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
