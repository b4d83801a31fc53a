import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Docker from 'dockerode';
import { ROOT, Stack } from '../../scripts/lib/stack';
import { stackInfo } from './client';

/** Debian's interpreter, where setup.sh installs python3-pytest (a pyenv python may come first on PATH). */
const PYTHON = '/usr/bin/python3';
const SDK = join(ROOT, 'libs', 'sdk-python');
const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

interface PythonRun {
  code: number | null;
  output: string;
}

/** Runs Debian's python3 with the SDK on its path; stdout and stderr together, killed past the deadline. */
function python(args: string[], env: Record<string, string>, timeoutMs: number): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, args, {
      cwd: ROOT,
      env: {
        ...process.env,
        EXECUTOR_API_KEY: '',
        PYTHONPATH: SDK,
        PYTHONDONTWRITEBYTECODE: '1',
        PYTHONUNBUFFERED: '1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

/** Fails with the program's own output, so a red CI run says what Python said. */
function expectClean(what: string, run: PythonRun): string {
  if (run.code !== 0) throw new Error(`${what} exited with ${run.code}:\n${run.output}`);
  return run.output;
}

/** The README blocks marked `<!-- ci: run -->`: the documentation's snippets as a user copies them. */
function readmeSnippets(): string[] {
  const readme = readFileSync(join(SDK, 'README.md'), 'utf8');
  return [...readme.matchAll(/<!-- ci: run -->\s*```python\n([\s\S]*?)```/g)].map((m) => m[1]);
}

async function imageExists(image: string): Promise<boolean> {
  return new Docker()
    .getImage(image)
    .inspect()
    .then(
      () => true,
      () => false,
    );
}

describe('the Python SDK (libs/sdk-python) against the real stack', () => {
  // Its own tenant: the global stack allows 5 live sessions per tenant.
  const env = () => ({ EXECUTOR_URL: stackInfo().apiUrl, EXECUTOR_TENANT: `py-${randomUUID().slice(0, 8)}` });
  let limited: Stack | undefined;
  let limitedStarted: Promise<void> | undefined;

  beforeAll(async () => {
    // A second stack whose rate limit (1 run per 6 s) a test can hit; it starts while the examples
    // run. pytest's second run must fall in the window the first opened: 2 s was less than one
    // run takes on a loaded host.
    limited = await Stack.create({
      RATE_LIMIT_PER_MINUTE: '1',
      RATE_LIMIT_WINDOW_S: '6',
      POOL_SIZES: 'default=1',
      // Stack's counter starts again in each test file, so the id it would pick is the global
      // stack's runner's, and this runner's start-up sweep would remove that runner's containers.
      RUNNER_ID: `e2e-${process.pid}-python-sdk`,
    });
    limitedStarted = limited.start();
    limitedStarted.catch(() => undefined);
  });

  afterAll(async () => {
    await limited?.stop();
  });

  it('examples/python: each script runs and prints what it did', async () => {
    const out = mkdtempSync(join(tmpdir(), 'py-examples-'));
    // Independent scripts, each its own tenant: run side by side (most of their time is waiting).
    const [vizRun, sessionsRun, filesRun] = await Promise.all([
      python(['examples/python/visualization_examples.py', out], env(), 60000),
      python(['examples/python/session_examples.py'], env(), 60000),
      python(['examples/python/file_operations.py'], env(), 60000),
    ]);
    const viz = expectClean('visualization_examples.py', vizRun);
    expect(viz).toMatch(/Artifact: figure-1\.png \(image\/png, \d+ bytes\)/);
    expect(viz).toMatch(/best day: \d+, correlation: -?\d\.\d\d/);
    for (const png of ['plot-1.png', 'dashboard-1.png'])
      expect(readFileSync(join(out, png)).subarray(0, 8)).toEqual(PNG);

    const sessions = expectClean('session_examples.py', sessionsRun);
    expect(sessions).toMatch(/python session \w+: \[42, 84\]/);
    expect(sessions).toMatch(/javascript session \w+: 42/);
    expect(sessions).toContain("streamed: ['step 0', 'step 1', 'step 2']");
    expect(sessions).toContain('after destroy: HTTP 410 SESSION_DESTROYED');

    const files = expectClean('file_operations.py', filesRun);
    expect(files).toContain("downloaded report: {'items': 3, 'total': 4.5, 'blob_bytes': 256}");
    expect(files).toContain('equals the download: True');
    expect(files).toContain('outputs/ after delete: []');
    expect(files).toContain('a path outside /workspace: HTTP 400 VALIDATION_ERROR');
  }, 120000);

  it("the README's snippets, as the documentation gives them, run and print what it implies", async () => {
    const [direct, template] = readmeSnippets();
    expect(direct).toContain('from executor.sandbox import CodeSandbox');
    expect(template).toContain('template_manager.register_template(template, persist=True)');
    const dir = mkdtempSync(join(tmpdir(), 'py-snippets-'));

    // python-ml builds on first use (minutes, gigabytes): CI runs the session on python-data then.
    const ml = await imageExists('executor/python-ml:latest');
    const directFile = join(dir, 'direct.py');
    writeFileSync(
      directFile,
      (ml ? direct : direct.replace('template="python-ml"', 'template="python-data"')) +
        'print("session:", result.status, result.error.name if result.error else result.stdout.strip())\n',
    );
    const printed = expectClean('the direct/session snippet', await python([directFile], env(), 90000));
    expect(printed).toMatch(/^Artifact: figure-1\.png \(image\/png\)$/m);
    expect(printed).toMatch(ml ? /^session: success \d+\.\d+/m : /^session: error ModuleNotFoundError$/m);

    // Debian has no TensorFlow or Keras (the unit and integration tests cover that failure).
    const templateFile = join(dir, 'template.py');
    writeFileSync(
      templateFile,
      template.replace('packages=["tensorflow", "keras", "pillow"]', 'packages=["pillow"]') +
        'info = template_manager.get_template("custom-ml")\n' +
        'print(info.image_status, info.packages["apt"], info.cpu_limit, info.memory_limit, info.timeout)\n' +
        'print("image:", info.image)\n',
    );
    const env2 = env();
    try {
      const built = expectClean('the template snippet', await python([templateFile], env2, 120000));
      expect(built).toContain("ready ['python3-pil'] 4.0 4g 300.0");
      // The image stays: its tag is the content hash of default plus python3-pil, so later runs
      // (and pytest's template test) reuse it; `npm run images:prune` removes it.
      expect(built).toMatch(/^image: executor\/custom:[0-9a-f]{16}$/m);
    } finally {
      await fetch(`${env2.EXECUTOR_URL}/templates/custom-ml`, { method: 'DELETE' });
    }
  }, 150000);

  it('pytest libs/sdk-python/tests: unit tests and integration tests against the stack, a 429 included', async () => {
    await limitedStarted;
    const run = await python(
      ['-m', 'pytest', 'libs/sdk-python/tests', '-q', '-rs'],
      { ...env(), EXECUTOR_RATE_LIMITED_URL: limited!.info.apiUrl },
      150000,
    );
    const output = expectClean('pytest', run);
    expect(output).toMatch(/\d+ passed/);
    expect(output).not.toMatch(/skipped|xfail|deselected/);
  }, 180000);
});
