import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, ROOT, Stack } from '../../scripts/lib/stack';
import type { N8nWorkflow as Workflow } from '../../examples/n8n/workflow';

/**
 * examples/n8n/executor-workflow.json as n8n users run it (issue #20): imported with the real n8n
 * CLI, its Header Auth credential imported in n8n's own format, executed with `n8n execute`
 * against a real stack with API keys on. n8n comes from scripts/install-n8n.sh (setup.sh starts
 * it in the background); without it the spec is skipped with a warning.
 */
const N8N_VERSION = process.env.EXECUTOR_N8N_VERSION ?? '2.8.4';
const N8N_DIR = process.env.EXECUTOR_N8N_DIR ?? '/var/cache/executor/n8n';
const N8N_BIN = join(N8N_DIR, 'node_modules', 'n8n', 'bin', 'n8n');
const installed = () => existsSync(join(N8N_DIR, `installed-${N8N_VERSION}`)) && existsSync(N8N_BIN);

/** n8n, after an install in progress (it holds the lock) has ended; false if there is none. */
function n8nAvailable(): boolean {
  if (installed()) return true;
  const lock = join(N8N_DIR, 'install.lock');
  const waitS = process.env.EXECUTOR_N8N_WAIT_S ?? '900';
  if (existsSync(lock)) spawnSync('flock', ['-w', waitS, lock, 'true'], { stdio: 'ignore' });
  if (installed()) return true;
  console.warn(
    `n8n ${N8N_VERSION} is not installed in ${N8N_DIR} (bash scripts/install-n8n.sh installs it; see ` +
      `${join(N8N_DIR, 'install.log')}): the n8n workflow spec is SKIPPED`,
  );
  return false;
}

interface Item {
  json: Record<string, unknown>;
}
/** What `n8n execute --rawOutput` prints: the run, with each node's output items per output. */
interface N8nRun {
  finished?: boolean;
  status?: string;
  data: {
    resultData: {
      error?: { message: string };
      runData: Record<string, Array<{ data?: { main: Array<Item[] | null> } }>>;
    };
  };
}

const WORKFLOW = join(ROOT, 'examples', 'n8n', 'executor-workflow.json');
const shipped = () => JSON.parse(readFileSync(WORKFLOW, 'utf8')) as Workflow;
const CASES = 'ExecutorCases001';

(n8nAvailable() ? describe : describe.skip)('the n8n workflow, run with the n8n CLI', () => {
  const key = `n8n-${randomBytes(16).toString('hex')}`;
  let stack: Stack;
  let home: string;
  let env: NodeJS.ProcessEnv;
  const timings: Record<string, number> = {};

  /** One n8n CLI command in this spec's own user folder; its stdout. */
  function n8n(args: string[], timeoutMs = 120000): Promise<string> {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [N8N_BIN, ...args],
        { env, cwd: home, timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 },
        (err, stdout, stderr) => {
          if (err) reject(new Error(`n8n ${args.join(' ')} failed: ${err.message}\n${stdout}\n${stderr}`));
          else resolve(stdout);
        },
      );
    });
  }

  const settingsOf = (wf: Workflow) =>
    (
      wf.nodes.find((n) => n.name === 'Settings')!.parameters.assignments as {
        assignments: Array<{ name: string; value: unknown }>;
      }
    ).assignments;

  /**
   * The shipped workflow fed several cases in one run (n8n's CLI start, not the API, is what takes
   * time): a node that makes one item per case before Settings, whose fields then come from the
   * item. The HTTP Request, IF and branch nodes are the shipped ones, unchanged.
   */
  function withCases(id: string, cases: Array<Record<string, string | number>>): Workflow {
    const wf = shipped();
    wf.id = id;
    const trigger = wf.nodes.find((n) => n.type === 'n8n-nodes-base.manualTrigger')!;
    for (const field of settingsOf(wf))
      field.value = `={{ $json.${field.name} ?? ${JSON.stringify(field.value)} }}`;
    wf.nodes.push(
      {
        name: 'Cases',
        type: 'n8n-nodes-base.set',
        typeVersion: 3.4,
        position: [110, 200],
        parameters: { mode: 'raw', jsonOutput: JSON.stringify({ cases }), options: {} },
      },
      {
        name: 'One item per case',
        type: 'n8n-nodes-base.splitOut',
        typeVersion: 1,
        position: [160, 200],
        parameters: { fieldToSplitOut: 'cases', options: {} },
      },
    );
    const link = (node: string) => ({ main: [[{ node, type: 'main', index: 0 }]] });
    wf.connections[trigger.name] = link('Cases');
    wf.connections.Cases = link('One item per case');
    wf.connections['One item per case'] = link('Settings');
    return wf;
  }

  /** Runs an imported workflow; the items each node put out, by node name. */
  async function execute(id: string): Promise<Record<string, Array<Item[] | null>>> {
    const started = Date.now();
    const out = await n8n(['execute', `--id=${id}`, '--rawOutput']);
    timings[`execute ${id}`] = Date.now() - started;
    // n8n's own lines (the task broker starting) come first; the run is the JSON after them.
    const run = JSON.parse(out.slice(out.startsWith('{') ? 0 : out.indexOf('\n{') + 1)) as N8nRun;
    expect(run.data.resultData.error).toBeUndefined();
    return Object.fromEntries(
      Object.entries(run.data.resultData.runData).map(([node, runs]) => [node, runs[0].data?.main ?? []]),
    );
  }

  const outputOf = (nodes: Record<string, Array<Item[] | null>>, name: string) =>
    (nodes[name]?.[0] ?? []).map((i) => i.json);

  beforeAll(async () => {
    stack = await Stack.create({ EXECUTOR_API_KEYS: `n8n:tenant:${key}` });
    home = mkdtempSync(join(tmpdir(), 'executor-n8n-'));
    env = {
      PATH: process.env.PATH,
      HOME: home,
      N8N_USER_FOLDER: home,
      N8N_ENCRYPTION_KEY: randomBytes(24).toString('hex'),
      // Nothing leaves loopback: no telemetry, version checks, templates, banners or licence calls.
      N8N_DIAGNOSTICS_ENABLED: 'false',
      N8N_VERSION_NOTIFICATIONS_ENABLED: 'false',
      N8N_TEMPLATES_ENABLED: 'false',
      N8N_PERSONALIZATION_ENABLED: 'false',
      N8N_HIRING_BANNER_ENABLED: 'false',
      N8N_COMMUNITY_PACKAGES_ENABLED: 'false',
      N8N_LICENSE_AUTO_RENEW_ENABLED: 'false',
      N8N_AI_ENABLED: 'false',
      EXTERNAL_FRONTEND_HOOKS_URLS: '',
      N8N_RUNNERS_BROKER_PORT: String(await freePort()),
      N8N_PORT: String(await freePort()),
      // `execute` prints the run at level info: below it, nothing comes out.
      N8N_LOG_LEVEL: 'info',
      N8N_ENFORCE_SETTINGS_FILE_PERMISSIONS: 'false',
      DB_SQLITE_POOL_SIZE: '1',
    };
    const refused = await freePort(); // nothing listens on it once freePort has closed it
    const dir = join(home, 'import');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'cases.json'),
      JSON.stringify(
        withCases(CASES, [
          // The shipped code (the fields a case leaves out keep their shipped values).
          { executor_url: `${stack.info.apiUrl}/` },
          { executor_url: stack.info.apiUrl, code: 'def f():\n    raise ValueError("boom")\nf()' },
          { executor_url: stack.info.apiUrl, timeout: 2, code: 'import time\ntime.sleep(30)' },
          { executor_url: stack.info.apiUrl, language: 'cobol' },
          { executor_url: `http://127.0.0.1:${refused}` },
        ]),
      ),
    );
    // The credential the workflow names, as n8n exports it (its data encrypted on import).
    const credential = shipped().nodes.find((n) => n.credentials)!.credentials!.httpHeaderAuth;
    writeFileSync(
      join(home, 'credentials.json'),
      JSON.stringify([
        {
          id: credential.id,
          name: credential.name,
          type: 'httpHeaderAuth',
          data: { name: 'X-API-Key', value: key },
        },
      ]),
    );
    const imports = async () => {
      let started = Date.now();
      await n8n(['import:credentials', `--input=${join(home, 'credentials.json')}`]);
      timings['import:credentials'] = Date.now() - started;
      started = Date.now();
      await n8n(['import:workflow', '--separate', `--input=${dir}`]);
      timings['import:workflow'] = Date.now() - started;
    };
    // The imports need no API: they run while the stack starts.
    const started = Date.now();
    await Promise.all([stack.start(), imports()]);
    timings.setup = Date.now() - started;
  }, 600000);

  afterAll(async () => {
    console.log(`n8n CLI timings (ms): ${JSON.stringify(timings)}`);
    await stack?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  // One run of every case: n8n's start (seconds), not the API, is what a run of the CLI costs.
  let nodes: Record<string, Array<Item[] | null>>;
  let failures: Array<Record<string, unknown>>;
  beforeAll(async () => {
    nodes = await execute(CASES);
    failures = outputOf(nodes, 'Handle the failure');
    expect(outputOf(nodes, 'One item per case')).toHaveLength(5);
    expect(failures).toHaveLength(4);
  }, 180000);

  it('success: the output branch gets the stdout, trimmed, and the seconds', () => {
    expect(outputOf(nodes, 'Use the output')).toEqual([
      { output: '3.875', seconds: expect.any(Number) as number },
    ]);
  });

  it('an exception: the failure branch names it', () => {
    expect(failures[0]).toEqual({ status: 'error', reason: 'ValueError: boom', timed_out: false });
  });

  it('a timeout: the failure branch, with timed_out', () => {
    expect(failures[1]).toMatchObject({ status: 'timeout', timed_out: true });
  });

  it('a refused request (400): the failure branch, with our error code and message', () => {
    expect(failures[2]).toMatchObject({ status: 'error', timed_out: false });
    expect(failures[2].reason).toMatch(/^UNSUPPORTED_LANGUAGE: .*cobol/);
  });

  it('a refused connection reaches the failure branch too (onError: continueRegularOutput)', () => {
    expect(failures[3]).toMatchObject({ status: 'request_failed', timed_out: false });
    expect(failures[3].reason).toMatch(/ECONNREFUSED/);
  });
});
