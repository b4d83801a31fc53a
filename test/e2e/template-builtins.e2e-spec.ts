import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { post } from './client';
import { ROOT } from '../../scripts/lib/stack';

interface Run {
  status: string;
  stdout: string;
  stderr: string;
}

/** A line of each language, with the standard library Python's kernels and users rely on. */
const PROGRAMS: Record<string, { code: string; stdout: string }> = {
  python: {
    code: [
      'import json, sqlite3, decimal',
      'print(json.dumps({"sum": str(decimal.Decimal("0.1") + decimal.Decimal("0.2"))}))',
      'print(sqlite3.connect(":memory:").execute("select 6 * 7").fetchone()[0])',
    ].join('\n'),
    stdout: '{"sum": "0.3"}\n42\n',
  },
  javascript: {
    code: 'console.log(require("node:crypto").createHash("sha256").update("x").digest("hex").slice(0, 8))',
    stdout: '2d711642\n',
  },
  typescript: {
    code: 'const n: number = 6 * 7\nconsole.log(`${n} ${typeof n}`)',
    stdout: '42 number\n',
  },
  bash: { code: 'echo $((6 * 7)) $(id -u)', stdout: '42 10001\n' },
};

/** Every built-in in templates/, read as the template-service reads it. */
const BUILTINS = readdirSync(join(ROOT, 'templates'), { withFileTypes: true })
  .filter((e) => e.isDirectory())
  .map((e) => {
    const manifest = JSON.parse(readFileSync(join(ROOT, 'templates', e.name, 'manifest.json'), 'utf8')) as {
      name: string;
      languages: string[];
      build?: string;
    };
    return { ...manifest, onDemand: manifest.build === 'on-demand' };
  });

const imageBuilt = (name: string) =>
  spawnSync('docker', ['image', 'inspect', `executor/${name}:latest`], { stdio: 'ignore' }).status === 0;

/**
 * Each built-in runs a line of every language it has. Setup builds every built-in but the
 * on-demand ones (python-ml with torch, python-nlp): those are covered where their image is
 * built, and skipped with a message saying so elsewhere.
 */
describe('every built-in template runs code', () => {
  it('finds the built-ins', () => {
    expect(BUILTINS.map((t) => t.name)).toEqual(expect.arrayContaining(['default', 'minimal', 'node-basic']));
  });

  for (const template of BUILTINS) {
    if (template.onDemand && !imageBuilt(template.name)) {
      it.skip(`${template.name}: SKIPPED, its image is not built on this machine (built on demand: npm run images:build -- ${template.name})`, () => {});
      continue;
    }
    for (const language of template.languages) {
      it(`${template.name} runs ${language}`, async () => {
        if (!imageBuilt(template.name)) {
          throw new Error(
            `executor/${template.name}:latest is missing: setup builds every built-in whose manifest does not say "build": "on-demand"`,
          );
        }
        const { code, stdout } = PROGRAMS[language];
        const res = await post<Run>('/execute', {
          tenant_id: 't-builtins',
          template: template.name,
          language,
          code,
        });
        expect(res.status).toBe(200);
        expect(res.body).toMatchObject({ status: 'success', stdout, stderr: '' });
      });
    }
  }
});
