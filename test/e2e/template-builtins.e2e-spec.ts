import { spawnSync } from 'node:child_process';
import { post } from './client';

interface Run {
  status: string;
  stdout: string;
  stderr: string;
  error?: unknown;
}

const PYTHON = [
  'import json, sqlite3, decimal',
  'print(json.dumps({"sum": str(decimal.Decimal("0.1") + decimal.Decimal("0.2"))}))',
  'print(sqlite3.connect(":memory:").execute("select 6 * 7").fetchone()[0])',
].join('\n');
const PYTHON_OUT = '{"sum": "0.3"}\n42\n';

/** Built-ins `scripts/setup.sh` builds: each must run code on a fresh machine. */
const DEFAULT_BUILT = ['default', 'minimal', 'python-data', 'python-web'];
/** Built on first use or by `npm run images:build -- <name>`: covered where they are built. */
const ON_DEMAND = ['python-nlp', 'python-ml'];

const imageBuilt = (name: string) =>
  spawnSync('docker', ['image', 'inspect', `executor/${name}:latest`], { stdio: 'ignore' }).status === 0;

describe('every built-in template runs code', () => {
  it.each(DEFAULT_BUILT)('%s runs Python with json, sqlite3 and decimal', async (template) => {
    const res = await post<Run>('/execute', { tenant_id: 't-builtins', template, code: PYTHON });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', stdout: PYTHON_OUT, stderr: '' });
  });

  it('node-basic runs JavaScript with a core module', async () => {
    const res = await post<Run>('/execute', {
      tenant_id: 't-builtins',
      template: 'node-basic',
      code: 'console.log(require("node:crypto").createHash("sha256").update("x").digest("hex").slice(0, 8))',
    });
    expect(res.body).toMatchObject({ status: 'success', stdout: '2d711642\n' });
  });

  it.each(['minimal', 'node-basic'])('%s runs bash', async (template) => {
    const res = await post<Run>('/execute', {
      tenant_id: 't-builtins',
      template,
      language: 'bash',
      code: 'echo $((6 * 7)) $(id -u)',
    });
    expect(res.body).toMatchObject({ status: 'success', stdout: '42 10001\n' });
  });

  for (const template of ON_DEMAND) {
    if (imageBuilt(template)) {
      it(`${template} (its image is built here) runs Python with json, sqlite3 and decimal`, async () => {
        const res = await post<Run>('/execute', { tenant_id: 't-builtins', template, code: PYTHON });
        expect(res.body).toMatchObject({ status: 'success', stdout: PYTHON_OUT });
      });
    } else {
      it.skip(`${template}: SKIPPED, its image is not built on this machine (built on demand: npm run images:build -- ${template})`, () => {});
    }
  }
});
