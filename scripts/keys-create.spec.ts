import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiKeys } from '../apps/api/src/auth/api-keys';
import { createKey } from './keys-create';

describe('keys:create', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'keys-create-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('takes --tenant=acme and writes a key the API accepts, with its limits', () => {
    const file = join(dir, 'keys.json');
    const key = createKey(['--tenant=acme', `--file=${file}`, '--max-timeout-s', '60']);
    const key2 = createKey(['--tenant', 'ops', '--role=admin', '--file', file]);
    expect(readFileSync(file, 'utf8')).not.toContain(key);
    const keys = ApiKeys.load(file, '');
    expect(keys.find(key)).toEqual({ tenant: 'acme', role: 'tenant', limits: { max_timeout_s: 60 } });
    expect(keys.find(key2)).toEqual({ tenant: 'ops', role: 'admin', limits: {} });
  });

  it('refuses what the API would refuse to load', () => {
    const file = join(dir, 'keys.json');
    expect(() => createKey(['--file', file])).toThrow('--tenant <name> is required');
    expect(() => createKey(['--tenant=acme', '--file', file, '--max-timeout-s=0'])).toThrow('at least 1');
    expect(() => createKey(['--tenant=acme', '--file', file, '--max-timeout-s=ten'])).toThrow('whole number');
    expect(() => createKey(['--tenant=acme', '--file', file, '--rol=admin'])).toThrow('Unknown option');
  });
});
