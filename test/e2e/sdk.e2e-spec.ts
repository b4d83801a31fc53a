import { existsSync, readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Executor, ExecutorError, Sandbox } from '@executor/sdk';
import { stackInfo } from './client';

const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

describe('the TypeScript SDK against the real stack', () => {
  beforeAll(() => {
    process.env.EXECUTOR_URL = stackInfo().apiUrl;
    delete process.env.EXECUTOR_API_KEY;
  });

  it('creates a sandbox, keeps a variable, returns a plot as PNG bytes, round-trips a file, and kills it', async () => {
    const sandbox = await Sandbox.create({ template: 'python-data', ttl: 120 });
    await sandbox.runCode('x = 41');
    const kept = await sandbox.runCode('x + 1');
    expect(kept.results[0].data['text/plain']).toBe('42');

    const plot = await sandbox.runCode('import matplotlib.pyplot as plt\nplt.plot([1, 4, 9])\nplt.show()');
    const png = plot.artifacts.find((a) => a.type === 'image/png');
    expect(Buffer.from(png!.content, 'base64').subarray(0, 4)).toEqual(PNG);

    const bytes = new Uint8Array([0, 1, 2, 250, 255]);
    await sandbox.files.write('blob.bin.dat', bytes);
    expect(Buffer.from(await sandbox.files.read('blob.bin.dat'))).toEqual(Buffer.from(bytes));
    await sandbox.files.write('notes.txt', 'hello');
    expect(await sandbox.files.readText('notes.txt')).toBe('hello');
    expect((await sandbox.files.list()).map((e) => e.name)).toEqual(
      expect.arrayContaining(['blob.bin.dat', 'notes.txt']),
    );

    const streamed: string[] = [];
    const run = await sandbox.runCode('for i in range(3):\n    print(i, flush=True)', {
      onStdout: (t) => streamed.push(t),
    });
    expect(run.stdout).toBe('0\n1\n2\n');
    expect(streamed.join('')).toBe('0\n1\n2\n');

    await sandbox.kill();
    await expect(sandbox.runCode('x')).rejects.toMatchObject({ status: 410, code: 'SESSION_DESTROYED' });
  });

  it('has contexts in two languages, session env, a lifetime and TypeScript', async () => {
    const sandbox = await Sandbox.create({
      template: 'code-interpreter',
      env: { GREETING: 'hi' },
      lifetime: 300,
    });
    const js = await sandbox.contexts.create({ language: 'javascript' });
    expect(js).toMatchObject({ language: 'javascript', default: false });
    await sandbox.runCode('v = 1');
    await sandbox.runCode('const v: number = 2', { contextId: js.id, language: 'typescript' });
    expect((await sandbox.runCode('v')).results[0].data['text/plain']).toBe('1');
    expect((await sandbox.runCode('v', { contextId: js.id })).results[0].data['text/plain']).toBe('2');
    expect((await sandbox.runCode('import os; print(os.environ["GREETING"])')).stdout).toBe('hi\n');
    await sandbox.contexts.restart(js.id);
    const gone = await sandbox.runCode('typeof v', { contextId: js.id });
    expect(gone.results[0].data['text/plain']).toBe("'undefined'");
    await sandbox.contexts.remove(js.id);
    expect((await sandbox.contexts.list()).map((c) => c.id)).not.toContain(js.id);
    await sandbox.kill();
  });

  it('runs one-off code and answers with typed errors', async () => {
    const result = await Executor.execute('print(6 * 7)');
    expect(result).toMatchObject({ status: 'success', stdout: '42\n' });
    const error = await Executor.execute('1', { template: 'no-such-template' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExecutorError);
    expect(error).toMatchObject({ status: 400, code: 'UNKNOWN_TEMPLATE' });
    const names = (await new Executor().templates.list()).map((t) => t.name);
    expect(names).toContain('python-data');
  });
});

describe('examples/ (each runs green, so none can rot)', () => {
  beforeAll(() => {
    process.env.EXECUTOR_URL = stackInfo().apiUrl;
  });

  it('visualization: a plot, a dashboard, an analysis and a follow-up', async () => {
    const out = mkdtempSync(join(tmpdir(), 'examples-'));
    const { main } = await import('../../examples/visualization');
    const r = await main(out);
    expect(r.pngs).toHaveLength(2);
    for (const file of r.pngs) {
      expect(existsSync(file)).toBe(true);
      expect(readFileSync(file).subarray(0, 4)).toEqual(PNG);
    }
    expect(r.summary).toContain('sales');
    expect(r.followUp).toMatch(/^best day: \d+, correlation: -?\d\.\d\d$/);
  });

  it('sessions', async () => {
    const { main } = await import('../../examples/sessions');
    expect(await main()).toEqual({ python: '42', javascript: '42' });
  });

  it('files', async () => {
    const { main } = await import('../../examples/files');
    const r = await main();
    expect(r.listed).toEqual(['summary.json']);
    expect(JSON.parse(r.report)).toEqual({ items: 3, total: 4.5 });
    expect(r.afterDelete).toEqual([]);
  });

  it('streaming', async () => {
    const { main } = await import('../../examples/streaming');
    const r = await main();
    expect(r.lines).toEqual(['step 0', 'step 1', 'step 2', 'step 3', 'step 4']);
    expect(r.firstLineAfterMs).toBeLessThan(r.totalMs - 900);
  });

  it('custom template', async () => {
    const { main } = await import('../../examples/custom-template');
    expect(await main()).toEqual({ status: 'success', output: 'true false' });
  }, 240000);
});
