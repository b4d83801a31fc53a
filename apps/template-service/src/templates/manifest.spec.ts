import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from './manifest';

const valid = {
  name: 'default',
  description: 'Python 3',
  languages: ['python'],
  memory_limit: '512m',
  cpu_limit: 1,
  timeout: 30,
  network: false,
};

describe('parseManifest', () => {
  it('reads the built-in default manifest', () => {
    const raw: unknown = JSON.parse(
      readFileSync(join(__dirname, '../../../../templates/default/manifest.json'), 'utf8'),
    );
    expect(parseManifest(raw)).toMatchObject({
      name: 'default',
      image: 'executor/default:latest',
      languages: ['python', 'bash'],
      kernel: 'python',
    });
  });

  it('fills defaults for pids, env and packages', () => {
    expect(parseManifest(valid)).toMatchObject({
      pids_limit: 128,
      env: {},
      packages: {},
      kernel: 'python',
      preload: [],
    });
  });

  it.each([
    [{ name: 'Bad_Name' }, 'name'],
    [{ memory_limit: 'lots' }, 'memory_limit'],
    [{ languages: ['cobol'] }, 'languages'],
    [{ languages: [] }, 'languages'],
    [{ cpu_limit: 0 }, 'cpu_limit'],
    [{ timeout: 0 }, 'timeout'],
    [{ timeout: 1.5 }, 'timeout'],
    [{ network: 'yes' }, 'network'],
    [{ env: { A: 1 } }, 'env'],
    [{ packages: { apt: 'python3' } }, 'packages'],
    [{ runtime: 'kata' }, 'runtime'],
    [{ kernel: 'ruby' }, 'kernel'],
    [{ kernel: 'node', languages: ['python'] }, 'does not run python'],
    [{ preload: ['os; rm'] }, 'preload'],
  ])('refuses %j naming %s', (patch, field) => {
    expect(() => parseManifest({ ...valid, ...patch })).toThrow(field);
  });

  it('refuses a non-object', () => {
    expect(() => parseManifest([])).toThrow('object');
  });
});
