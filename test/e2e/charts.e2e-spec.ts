import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { findRepoRoot } from '@executor/common';
import { randomUUID } from 'node:crypto';
import { kernelCommand, kernelProgram } from '../../apps/runner/src/kernel/kernel-source';
import { post } from './client';

/**
 * Charts and DataFrames as data: E2B's chart cases (e2b-dev/code-interpreter
 * python/tests/charts/*, js/tests/charts/*), ported to our API, in the real python-data
 * sandbox (IPython, matplotlib, plotly, pandas), one session for all of them.
 */

const CHART = 'application/vnd.executor.chart+json';
const DATAFRAME = 'application/vnd.executor.dataframe+json';
const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]).toString('base64').slice(0, 4);

type Bundle = Record<string, unknown>;
interface Result {
  status: string;
  stdout: string;
  stderr: string;
  results: Array<{ data: Bundle; is_main_result: boolean }>;
  error?: { name: string; value: string };
}
type Point = [number | string | null, number | string | null];
interface Chart {
  type: string;
  title: string | null;
  x_label?: string | null;
  y_label?: string | null;
  x_unit?: string | null;
  y_unit?: string | null;
  x_ticks?: Array<number | string>;
  x_tick_labels?: string[];
  x_scale?: string;
  y_ticks?: Array<number | string>;
  y_tick_labels?: string[];
  y_scale?: string;
  truncated?: boolean;
  elements: Array<Record<string, unknown>>;
}
interface PointElement {
  label: string;
  points: Point[];
}

const tenant = `t-charts-${randomUUID().slice(0, 8)}`;
let session = '';

beforeAll(async () => {
  const res = await post<{ session_id: string }>('/session/create', {
    tenant_id: tenant,
    scope: 'charts',
    template: 'python-data',
  });
  expect(res.status).toBe(200);
  session = res.body.session_id;
});

afterAll(async () => {
  if (session) await post('/session/destroy', { session_id: session, tenant_id: tenant });
});

async function run(code: string): Promise<Result> {
  const res = await post<Result>('/session/execute', { session_id: session, tenant_id: tenant, code });
  expect(res.status).toBe(200);
  expect(res.body.error).toBeUndefined();
  expect(res.body.status).toBe('success');
  return res.body;
}

/** The one chart of a run: in the figure's own bundle, beside its PNG and text. */
function chartOf(r: Result): Chart {
  const withChart = r.results.filter((x) => CHART in x.data);
  expect(withChart).toHaveLength(1);
  return withChart[0].data[CHART] as Chart;
}

function expectFigureBundle(r: Result): void {
  const bundle = r.results.find((x) => CHART in x.data)!.data;
  expect(String(bundle['image/png']).slice(0, 4)).toBe(PNG_MAGIC);
  expect(String(bundle['text/plain'])).toMatch(/^<Figure size/);
}

const isoDate = (v: unknown) => typeof v === 'string' && !Number.isNaN(Date.parse(v));

describe('charts as data (python-data)', () => {
  // E2B python/tests/charts/test_line.py::test_line_chart (js/tests/charts/line.test.ts)
  it('line: type, title, labels and units, a datetime x axis, every point of both lines', async () => {
    const r = await run(`
import numpy as np
import matplotlib.pyplot as plt
import datetime

dates = [datetime.date(2023, 9, 1) + datetime.timedelta(days=i) for i in range(100)]
x = np.linspace(0, 2*np.pi, 100)
plt.figure(figsize=(10, 6))
plt.plot(dates, np.sin(x), label='sin(x)')
plt.plot(dates, np.cos(x), label='cos(x)')
plt.xlabel("Time (s)")
plt.ylabel("Amplitude (Hz)")
plt.title('Plot of sin(x) and cos(x)')
plt.show()
`);
    const chart = chartOf(r);
    expectFigureBundle(r);
    expect(chart).toMatchObject({
      type: 'line',
      title: 'Plot of sin(x) and cos(x)',
      x_label: 'Time (s)',
      y_label: 'Amplitude (Hz)',
      x_unit: 's',
      y_unit: 'Hz',
      x_scale: 'datetime',
      y_scale: 'linear',
    });
    expect(chart.x_ticks!.length).toBeGreaterThan(1);
    expect(chart.x_ticks!.every(isoDate)).toBe(true);
    expect(chart.y_ticks!.every((t) => typeof t === 'number')).toBe(true);
    expect(chart.y_tick_labels!.every((t) => typeof t === 'string')).toBe(true);
    const [sin, cos] = chart.elements as unknown as PointElement[];
    expect(chart.elements).toHaveLength(2);
    expect([sin.label, cos.label]).toEqual(['sin(x)', 'cos(x)']);
    expect(sin.points).toHaveLength(100);
    expect(cos.points).toHaveLength(100);
    expect(sin.points[0]).toEqual(['2023-09-01', 0]);
    expect(cos.points[0]).toEqual(['2023-09-01', 1]);
    expect(sin.points[99][0]).toBe('2023-12-09');
    for (const [i, [x, y]] of sin.points.entries()) {
      expect(isoDate(x)).toBe(true);
      expect(y).toBeCloseTo(Math.sin((2 * Math.PI * i) / 99), 12);
    }
  });

  // E2B python/tests/charts/test_scatter.py::test_scatter_chart (js/tests/charts/scatter.test.ts)
  it('scatter: labels, linear scales, each dataset with its own points', async () => {
    const r = await run(`
import json
import matplotlib.pyplot as plt
import numpy as np

rng = np.random.default_rng(17)
x1, y1, x2, y2 = rng.random(5), rng.random(5), rng.random(10), rng.random(10)
plt.xlabel("A")
plt.ylabel("B")
plt.scatter(x1, y1, c='blue', label='Dataset 1')
plt.scatter(x2, y2, c='red', label='Dataset 2')
print(json.dumps([list(zip(x1.tolist(), y1.tolist())), list(zip(x2.tolist(), y2.tolist()))]))
plt.show()
`);
    const chart = chartOf(r);
    expectFigureBundle(r);
    expect(chart).toMatchObject({ type: 'scatter', title: null, x_label: 'A', y_label: 'B' });
    expect([chart.x_scale, chart.y_scale]).toEqual(['linear', 'linear']);
    expect([...chart.x_ticks!, ...chart.y_ticks!].every((t) => typeof t === 'number')).toBe(true);
    const drawn = JSON.parse(r.stdout) as Point[][];
    expect(chart.elements).toEqual([
      { label: 'Dataset 1', points: drawn[0] },
      { label: 'Dataset 2', points: drawn[1] },
    ]);
  });

  // E2B python/tests/charts/test_bar.py::test_chart_bar (js/tests/charts/bar.test.ts)
  it('bar: label, group and value of every bar', async () => {
    const r = await run(`
import matplotlib.pyplot as plt

authors = ['Author A', 'Author B', 'Author C', 'Author D']
sales = [100, 200, 300, 400]
plt.figure(figsize=(10, 6))
plt.bar(authors, sales, label='Books Sold', color='blue')
plt.xlabel('Authors')
plt.ylabel('Number of Books Sold')
plt.title('Book Sales by Authors')
plt.tight_layout()
plt.show()
`);
    expectFigureBundle(r);
    expect(chartOf(r)).toEqual({
      type: 'bar',
      title: 'Book Sales by Authors',
      x_label: 'Authors',
      y_label: 'Number of Books Sold',
      x_unit: null,
      y_unit: null,
      elements: [
        { label: 'Author A', group: 'Books Sold', value: 100 },
        { label: 'Author B', group: 'Books Sold', value: 200 },
        { label: 'Author C', group: 'Books Sold', value: 300 },
        { label: 'Author D', group: 'Books Sold', value: 400 },
      ],
    });
  });

  // E2B python/tests/charts/test_pie.py::test_pie_chart (js/tests/charts/pie.test.ts)
  it('pie: the angle and radius of each slice', async () => {
    const r = await run(`
import matplotlib.pyplot as plt

fig, ax = plt.subplots(figsize=(8, 8))
plt.xlabel("x")
plt.ylabel("y")
ax.pie([90, 10], labels=["No", "No, in blue"], autopct='%1.1f%%', startangle=90)
ax.axis('equal')
plt.title('Will I wake up early tomorrow?')
plt.show()
`);
    expectFigureBundle(r);
    expect(chartOf(r)).toEqual({
      type: 'pie',
      title: 'Will I wake up early tomorrow?',
      elements: [
        { label: 'No', angle: 324, radius: 1 },
        { label: 'No, in blue', angle: 36, radius: 1 },
      ],
    });
  });

  // E2B python/tests/charts/test_box_and_whiskers.py::test_box_and_whiskers (js/tests/charts/boxAndWhisker.test.ts)
  it('box and whisker: quartiles, median, whiskers and outliers of each box, either way up', async () => {
    const code = (vert: boolean) => `
import matplotlib.pyplot as plt

data = {
    'Class A': [85, 90, 78, 92, 88],
    'Class B': [95, 89, 76, 91, 84, 87],
    'Class C': [75, 82, 88, 79, 86]
}
fig, ax = plt.subplots(figsize=(10, 6))
ax.set_title('Exam Scores Distribution')
ax.set_${vert ? 'x' : 'y'}label('Class')
ax.set_${vert ? 'y' : 'x'}label('Score')
ax.boxplot(data.values(), labels=data.keys(), patch_artist=True, vert=${vert ? 'True' : 'False'})
plt.show()
`;
    const expected = {
      type: 'box_and_whisker',
      title: 'Exam Scores Distribution',
      x_label: 'Class',
      y_label: 'Score',
      x_unit: null,
      y_unit: null,
      elements: [
        {
          label: 'Class A',
          min: 78,
          first_quartile: 85,
          median: 88,
          third_quartile: 90,
          max: 92,
          outliers: [],
        },
        {
          label: 'Class B',
          min: 84,
          first_quartile: 84.75,
          median: 88,
          third_quartile: 90.5,
          max: 95,
          outliers: [76],
        },
        {
          label: 'Class C',
          min: 75,
          first_quartile: 79,
          median: 82,
          third_quartile: 86,
          max: 88,
          outliers: [],
        },
      ],
    };
    const upright = await run(code(true));
    expectFigureBundle(upright);
    expect(chartOf(upright)).toEqual(expected);
    // Not in E2B: a horizontal box plot names its category axis x all the same.
    expect(chartOf(await run(code(false)))).toEqual(expected);
  });

  // E2B python/tests/charts/test_superchart.py::test_super_chart (js/tests/charts/superchart.test.ts)
  it('superchart: a figure of two axes has one chart per axes as its elements', async () => {
    const r = await run(`
import matplotlib.pyplot as plt
import numpy as np

x1 = np.linspace(0, 10, 100)
fig, axs = plt.subplots(1, 2, figsize=(10, 8))
fig.suptitle('Multiple Charts Example', fontsize=16)
axs[0].plot(x1, np.sin(x1), 'r')
axs[0].set_title('Sine Wave')
axs[0].grid(True)
axs[1].scatter(np.random.rand(5), np.random.rand(5), c='blue', label='Dataset 1')
axs[1].set_xlabel('X')
axs[1].set_ylabel('Y')
axs[1].set_title('Scatter Plot')
axs[1].grid(True)
plt.show()
`);
    expectFigureBundle(r);
    const chart = chartOf(r);
    expect(chart).toMatchObject({ type: 'superchart', title: 'Multiple Charts Example' });
    const [line, scatter] = chart.elements as unknown as Array<Chart & { elements: PointElement[] }>;
    expect(chart.elements).toHaveLength(2);
    expect(line).toMatchObject({ type: 'line', title: 'Sine Wave', x_label: null, y_label: null });
    expect(line.elements).toHaveLength(1);
    expect(line.elements[0]).toMatchObject({ label: 'Line 0' });
    expect(line.elements[0].points).toHaveLength(100);
    expect(scatter).toMatchObject({ type: 'scatter', title: 'Scatter Plot', x_label: 'X', y_label: 'Y' });
    expect(scatter.elements).toHaveLength(1);
    expect(scatter.elements[0]).toMatchObject({ label: 'Dataset 1' });
    expect(scatter.elements[0].points).toHaveLength(5);
  });

  // E2B python/tests/charts/test_unknown.py::test_unknown_charts (js/tests/charts/unknown.test.ts)
  it('unknown: a figure of other artists is a chart of type unknown with no elements', async () => {
    const r = await run(`
import matplotlib.pyplot as plt

fig, ax = plt.subplots()
ax.add_artist(plt.Circle((0, 0), 1, color='blue', fill=False, linewidth=2))
ax.add_artist(plt.Circle((0, 0), 2, color='red', fill=False, linewidth=2))
ax.grid(True)
plt.title('Two Concentric Circles')
plt.show()
`);
    expectFigureBundle(r);
    expect(chartOf(r)).toEqual({ type: 'unknown', title: 'Two Concentric Circles', elements: [] });
  });

  // E2B python/tests/charts/test_log_chart.py::test_log_chart, with more points than a chart holds
  it('bounded: a log-scale line of 50,000 points keeps 10,000 values and says truncated', async () => {
    const r = await run(`
import numpy as np
import matplotlib.pyplot as plt

x = np.linspace(0, 100, 50000)
plt.plot(x, np.exp(x), label='y = e^x')
plt.yscale('log')
plt.xlabel('X-axis')
plt.ylabel('Y-axis (log scale)')
plt.title('Chart with Log Scale on Y-axis')
plt.legend()
plt.grid(True)
plt.show()
`);
    expectFigureBundle(r);
    const chart = chartOf(r);
    expect(chart).toMatchObject({
      type: 'line',
      x_unit: null,
      y_unit: 'log scale',
      x_scale: 'linear',
      y_scale: 'log',
      truncated: true,
    });
    const [line] = chart.elements as unknown as PointElement[];
    const ticks = [chart.x_ticks!, chart.x_tick_labels!, chart.y_ticks!, chart.y_tick_labels!];
    expect(line.label).toBe('y = e^x');
    expect(line.points.length + ticks.reduce((n, t) => n + t.length, 0)).toBe(10000);
    expect(line.points[0]).toEqual([0, 1]);
  });

  // No E2B counterpart (E2B reads matplotlib only): test_line.py and test_bar.py, with plotly.
  it('plotly: a line figure shown and a bar figure as a value carry their chart beside the plotly JSON', async () => {
    const r = await run(`
import plotly.express as px

px.line(x=[1, 2, 3], y=[3, 1, 2], title='Price by day', labels={'x': 'Day', 'y': 'Price (USD)'}).show()
px.bar(x=['Author A', 'Author B'], y=[100, 200], title='Book Sales by Authors')
`);
    const charts = r.results.filter((x) => CHART in x.data);
    expect(charts).toHaveLength(2);
    for (const c of charts) expect(c.data['application/vnd.plotly.v1+json']).toBeDefined();
    expect(charts[0].data[CHART]).toMatchObject({
      type: 'line',
      title: 'Price by day',
      x_label: 'Day',
      y_label: 'Price (USD)',
      y_unit: 'USD',
      x_scale: 'linear',
      elements: [
        {
          label: 'trace 0',
          points: [
            [1, 3],
            [2, 1],
            [3, 2],
          ],
        },
      ],
    });
    expect(charts[1].data[CHART]).toMatchObject({
      type: 'bar',
      title: 'Book Sales by Authors',
      elements: [
        { label: 'Author A', group: 'trace 0', value: 100 },
        { label: 'Author B', group: 'trace 0', value: 200 },
      ],
    });
  });

  // E2B python/tests/sync/test_data.py::test_data (js/tests/data.test.ts)
  it('a DataFrame result carries its columns as data beside its HTML and text', async () => {
    const r = await run(`
import pandas as pd
pd.DataFrame({"a": [1, 2, 3], "when": pd.to_datetime(["2024-01-02", None, "2024-01-04"]), "f": [0.5, float("nan"), 2]})
`);
    const [main] = r.results.filter((x) => x.is_main_result);
    expect(main.data[DATAFRAME]).toEqual({
      a: [1, 2, 3],
      when: ['2024-01-02T00:00:00', null, '2024-01-04T00:00:00'],
      f: [0.5, null, 2],
    });
    expect(String(main.data['text/html'])).toContain('<table');
    expect(String(main.data['text/plain'])).toContain('when');
    // Anything else carries neither.
    const plain = await run('[1, 2, 3]');
    expect(Object.keys(plain.results[0].data)).toEqual(['text/plain']);
  });

  // E2B template/startup_scripts/0003_images.py (PIL's viewers would look for a desktop)
  it('PIL: Image.show() gives an image result', async () => {
    const r = await run(`
from PIL import Image
Image.new('RGB', (8, 4), 'red').show()
print('shown')
`);
    expect(r.stdout).toBe('shown\n');
    expect(r.results).toHaveLength(1);
    const png = Buffer.from(String(r.results[0].data['image/png']), 'base64');
    expect(png.subarray(1, 4).toString()).toBe('PNG');
    expect([png.readUInt32BE(16), png.readUInt32BE(20)]).toEqual([8, 4]);
  });
});

describe('charts as data (the light kernel)', () => {
  // The default template's image is what its manifest lists: Python and IPython, no matplotlib.
  const manifest = JSON.parse(
    readFileSync(join(findRepoRoot(__dirname), 'templates', 'default', 'manifest.json'), 'utf8'),
  ) as {
    packages: { apt?: string[] };
  };
  const defaultHasMatplotlib = (manifest.packages.apt ?? []).includes('python3-matplotlib');
  (defaultHasMatplotlib ? it : it.skip)(
    'default template: a matplotlib figure comes with its chart (skipped: its image has no matplotlib)',
    async () => {
      const res = await post<Result>('/execute', {
        tenant_id: tenant,
        template: 'default',
        code: 'import matplotlib.pyplot as plt\nplt.bar(["a", "b"], [1, 2])\nplt.show()',
      });
      expect(chartOf(res.body)).toMatchObject({
        type: 'bar',
        elements: [{ label: 'a', value: 1 }, { label: 'b' }],
      });
    },
  );

  /**
   * The light kernel itself, as the runner starts it (kernelCommand), in the python-data image
   * where matplotlib and pandas are: a figure as a value and from plt.show(), display() of a
   * DataFrame, and none of them imported by a run that does not use them.
   */
  it('light kernel in the python-data image: charts and DataFrames, imports stay lazy', async () => {
    const frames = await lightKernel([
      'import sys\nprint(sorted(m for m in ("matplotlib", "pandas", "PIL", "plotly") if m in sys.modules))\n1 + 1',
      'import matplotlib.pyplot as plt, pandas as pd\nfig, ax = plt.subplots()\nax.bar(["a", "b"], [3, 4], label="n")\ndisplay(pd.DataFrame({"a": [1]}))\nfig',
    ]);
    const [quiet, drawn] = frames;
    expect([quiet.error, drawn.error]).toEqual([undefined, undefined]);
    expect(quiet.stdout).toBe('[]\n');
    expect(quiet.results).toEqual([{ data: { 'text/plain': '2' }, main: true }]);
    const bar = {
      type: 'bar',
      title: null,
      x_label: null,
      y_label: null,
      x_unit: null,
      y_unit: null,
      elements: [
        { label: 'a', group: 'n', value: 3 },
        { label: 'b', group: 'n', value: 4 },
      ],
    };
    expect(drawn.results.map((x) => [x.main, x.data[CHART] ?? x.data[DATAFRAME]])).toEqual([
      [false, { a: [1] }],
      [true, bar], // the figure as the last value
      [false, bar], // and flushed at the end of the run, as plt.show() would
    ]);
    for (const x of drawn.results.slice(1)) expect(String(x.data['image/png']).slice(0, 4)).toBe(PNG_MAGIC);
  });
});

interface KernelRun {
  stdout: string;
  error?: string;
  results: Array<{ data: Bundle; main: boolean }>;
}

/** Runs codes one after another in the light kernel, in a locked-down python-data container. */
function lightKernel(codes: string[]): Promise<KernelRun[]> {
  const child = spawn('docker', [
    'run',
    '-i',
    '--rm',
    '--network',
    'none',
    '--read-only',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/workspace:uid=10001',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '-e',
    'EXECUTOR_KERNEL=python',
    'executor/python-data:latest',
    ...kernelCommand('python'),
  ]);
  const runs: KernelRun[] = codes.map(() => ({ stdout: '', results: [] }));
  child.stdin.write(kernelProgram('python')!); // the kernel's program comes first on stdin
  return new Promise<KernelRun[]>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error('the light kernel did not finish in 60 s'));
    }, 60000);
    let buffered = '';
    child.on('error', reject);
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (!line.includes('\x1e')) continue;
        const f = JSON.parse(line.slice(line.lastIndexOf('\x1e') + 1)) as Record<string, unknown>;
        const run = runs[Number(f.r)];
        if (f.t === 'ready') child.stdin.write(JSON.stringify({ run: '0', code: codes[0] }) + '\n');
        else if (f.t === 'out' && f.n === 'stdout')
          run.stdout += Buffer.from(String(f.b), 'base64').toString();
        else if (f.t === 'error') run.error = String(f.value);
        else if (f.t === 'result') run.results.push({ data: f.data as Bundle, main: f.main as boolean });
        else if (f.t === 'done') {
          const next = Number(f.r) + 1;
          if (next < codes.length)
            child.stdin.write(JSON.stringify({ run: String(next), code: codes[next] }) + '\n');
          else child.stdin.end(); // the kernel exits at the end of its input
        }
      }
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(runs);
      else reject(new Error(`the light kernel exited with ${code}`));
    });
  });
}
