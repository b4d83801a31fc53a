import Docker from 'dockerode';
import { post } from './client';

interface Result {
  status: string;
  exit_code: number;
  stdout: string;
  stderr: string;
  results: Array<{ data: Record<string, unknown>; is_main_result: boolean }>;
  artifacts: Array<{ type: string; name: string; content: string; encoding: string; size: number }>;
  error?: { name: string; value: string; traceback?: string };
}

const run = async (body: Record<string, unknown>) => {
  const res = await post<Result>('/execute', { tenant_id: 't-kernels', ...body });
  expect(res.status).toBe(200);
  return res.body;
};

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe('kernels and rich results', () => {
  it('returns the value of the last expression as a main result', async () => {
    const r = await run({ code: 'x = 41\nx + 1' });
    expect(r.results).toEqual([{ data: { 'text/plain': '42' }, is_main_result: true }]);
    expect(r.stdout).toBe('');
  });

  it('publishes display() calls and _repr_html_ objects as MIME bundles', async () => {
    const r = await run({
      code: 'class Report:\n    def _repr_html_(self):\n        return "<b>bold</b>"\ndisplay(Report())\nprint("after")',
    });
    expect(r.stdout).toBe('after\n');
    expect(r.results[0].is_main_result).toBe(false);
    expect(r.results[0].data['text/html']).toBe('<b>bold</b>');
    expect(r.artifacts[0]).toMatchObject({ type: 'text/html', encoding: 'utf8', content: '<b>bold</b>' });
  });

  it('captures output of subprocesses at the file-descriptor level', async () => {
    const r = await run({ code: 'import os\nos.system("echo from-a-child; echo to-stderr >&2")' });
    expect(r.stdout).toBe('from-a-child\n');
    expect(r.stderr).toBe('to-stderr\n');
  });

  it('gives an exception as error {name, value, traceback} with the exit code 1', async () => {
    const r = await run({ code: 'def f():\n    return {}["missing"]\nf()' });
    expect(r.exit_code).toBe(1);
    expect(r.error).toMatchObject({ name: 'KeyError', value: "'missing'" });
    expect(r.error?.traceback).toContain('return {}["missing"]');
    expect(r.stderr).toContain('KeyError');
  });

  it('returns files written under /workspace/outputs as artifacts', async () => {
    const r = await run({
      code: 'import os\nos.makedirs("outputs/sub", exist_ok=True)\nopen("outputs/sub/data.csv", "w").write("a,b\\n1,2\\n")\nopen("not-returned.txt", "w").write("x")',
    });
    expect(r.artifacts).toEqual([
      {
        type: 'text/csv',
        name: 'outputs/sub/data.csv',
        content: Buffer.from('a,b\n1,2\n').toString('base64'),
        encoding: 'base64',
        size: 8,
      },
    ]);
  });

  it('runs bash in a python template', async () => {
    const r = await run({ code: 'echo "$((6 * 7))" && pwd && exit 3', language: 'bash' });
    expect(r).toMatchObject({ stdout: '42\n/workspace\n', exit_code: 3, status: 'error' });
  });

  it('refuses a language the template does not run, naming the ones it has', async () => {
    const res = await post<{ error: { code: string; message: string } }>('/execute', {
      tenant_id: 't',
      code: '1',
      language: 'javascript',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('UNSUPPORTED_LANGUAGE');
    expect(res.body.error.message).toContain('python, bash');
  });

  it('python-data: a matplotlib figure comes back as PNG, a DataFrame as HTML', async () => {
    const r = await run({
      template: 'python-data',
      code: [
        'import pandas as pd',
        'import matplotlib.pyplot as plt',
        'df = pd.DataFrame({"x": [1, 2, 3], "y": [2, 4, 8]})',
        'df.plot(x="x", y="y")',
        'plt.show()',
        'df',
      ].join('\n'),
    });
    expect(r.status).toBe('success');
    const png = r.artifacts.find((a) => a.type === 'image/png');
    expect(png).toBeDefined();
    expect(Buffer.from(png!.content, 'base64').subarray(0, 4)).toEqual(PNG_MAGIC);
    const main = r.results.find((x) => x.is_main_result);
    expect(String(main?.data['text/html'])).toContain('<table');
  });

  it('python-data: seaborn draws, and a figure left open is returned at the end', async () => {
    const r = await run({
      template: 'python-data',
      code: 'import seaborn as sns\nimport numpy as np\nsns.histplot(np.arange(100))\nprint("drawn")',
    });
    expect(r.stdout).toBe('drawn\n');
    expect(r.artifacts.filter((a) => a.type === 'image/png')).toHaveLength(1);
  });

  it('python-data: IPython semantics (magics, Out values)', async () => {
    const r = await run({
      template: 'python-data',
      code: '%load_ext autoreload\nimport numpy as np\nnp.arange(3)',
    });
    expect(r.status).toBe('success');
    expect(r.results[0]).toMatchObject({ is_main_result: true, data: { 'text/plain': 'array([0, 1, 2])' } });
  });

  it('python-data: a plotly figure comes back as plotly JSON and HTML', async () => {
    const r = await run({
      template: 'python-data',
      code: 'import plotly.express as px\npx.line(x=[1, 2, 3], y=[3, 1, 2])',
    });
    expect(r.status).toBe('success');
    const fig = r.results.find((x) => 'application/vnd.plotly.v1+json' in x.data);
    expect((fig?.data['application/vnd.plotly.v1+json'] as { data: unknown[] }).data).toHaveLength(1);
    expect(String(fig?.data['text/html'])).toContain('Plotly.newPlot');
  });

  it('node-basic: JavaScript with a last value, console output and errors', async () => {
    const ok = await run({
      template: 'node-basic',
      language: 'javascript',
      code: 'const x = 41;\nconsole.log("x is", x);\nx + 1',
    });
    expect(ok).toMatchObject({ status: 'success', stdout: 'x is 41\n' });
    expect(ok.results[0].data['text/plain']).toBe('42');
    const bad = await run({ template: 'node-basic', language: 'javascript', code: 'null.boom' });
    expect(bad.status).toBe('error');
    expect(bad.error?.name).toBe('TypeError');
    const awaited = await run({
      template: 'node-basic',
      code: 'const v = await new Promise((r) => setTimeout(() => r(7), 10));\nconsole.log(v)',
    });
    expect(awaited.stdout).toBe('7\n');
  });
});

describe('gVisor (runsc), where the engine has it', () => {
  let hasRunsc = false;

  beforeAll(async () => {
    const info = (await new Docker().info()) as { Runtimes?: Record<string, unknown> };
    hasRunsc = Boolean(info.Runtimes?.runsc);
  });

  it('runs code under runsc when asked', async () => {
    if (!hasRunsc) {
      console.warn('runsc is not registered with this Docker engine: gVisor test skipped');
      return;
    }
    const r = await run({ runtime: 'runsc', code: 'print(open("/proc/version").read())' });
    expect(r.status).toBe('success');
    // gVisor's kernel reports itself as Linux 4.4.0, whatever the host runs.
    expect(r.stdout).toContain('4.4.0');
  });

  it('refuses a runtime it does not know', async () => {
    const res = await post<{ error: { code: string } }>('/execute', {
      tenant_id: 't',
      code: '1',
      runtime: 'kata',
    });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe('VALIDATION_ERROR');
  });
});
