/**
 * Makes an API key, prints it once, and stores only its SHA-256 in the keys file.
 *
 *   npm run keys:create -- --tenant acme [--role admin] [--file .executor/api-keys.json]
 *                          [--executions-per-minute 60] [--concurrent-executions 4] [--max-timeout-s 120]
 *
 * Then start the API with API_KEYS_FILE=<file>.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { readArgs } from './lib/cli-args';

/** Makes the key, stores its hash and returns the key (printed once by the CLI). */
export function createKey(argv: string[], log: (line: string) => void = () => undefined): string {
  const { values: a } = readArgs(argv, {
    tenant: 'string',
    role: 'string',
    file: 'string',
    'executions-per-minute': 'integer',
    'concurrent-executions': 'integer',
    'max-timeout-s': 'integer',
  });
  if (!a.tenant || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(a.tenant))
    throw new Error('--tenant <name> is required');
  const role = a.role ?? 'tenant';
  if (role !== 'tenant' && role !== 'admin') throw new Error('--role is tenant or admin');
  const file = a.file ?? '.executor/api-keys.json';
  const limits: Record<string, number> = {};
  for (const [flag, name] of [
    ['executions-per-minute', 'executions_per_minute'],
    ['concurrent-executions', 'concurrent_executions'],
    ['max-timeout-s', 'max_timeout_s'],
  ] as const) {
    const value = a[flag];
    if (value === undefined) continue;
    if (value < 1) throw new Error(`--${flag} must be at least 1`);
    limits[name] = value;
  }
  const key = `exk_${randomBytes(24).toString('base64url')}`;
  const entries = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as unknown[]) : [];
  entries.push({
    key_sha256: createHash('sha256').update(key).digest('hex'),
    tenant: a.tenant,
    role,
    ...(Object.keys(limits).length ? { limits } : {}),
  });
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, JSON.stringify(entries, null, 2) + '\n', { mode: 0o600 });
  log(`stored its hash in ${file} (${role} of ${a.tenant}); the key is not kept anywhere`);
  return key;
}

if (require.main === module) {
  try {
    const key = createKey(process.argv.slice(2), (line) => process.stderr.write(`${line}\n`));
    process.stdout.write(`${key}\n`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
