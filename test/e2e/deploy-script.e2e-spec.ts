/**
 * scripts/deploy-executor-production.sh run end to end on this machine's engine, with the
 * host's files under a throw-away prefix (etc/cron.d, etc/logrotate.d, var/log/executor,
 * var/backups/executor) instead of the real ones: a dry run that changes nothing, a first
 * deploy (the stack with monitoring, the cron entry, the logrotate policy checked with
 * `logrotate -d`, the Prometheus configuration and rules with promtool, Prometheus scraping
 * the API), a second run that changes nothing, a dry run after it that changes nothing, the
 * cron job's --heal step, a deploy with a changed setting that backs the event store up
 * first, and a missing prerequisite. Torn down completely afterwards. Skipped, with a
 * warning, where docker-compose or logrotate is absent (scripts/setup.sh installs both).
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { freePort } from '../../scripts/lib/stack';
import { describeWhen } from './support/describe-when';
import { runToEnd, type CommandRun } from './support/run-to-end';

const ROOT = resolve(__dirname, '..', '..');
const SCRIPT = join(ROOT, 'scripts', 'deploy-executor-production.sh');
const FILES = ['-f', join(ROOT, 'docker-compose.yml'), '-f', join(ROOT, 'docker-compose.executor.yml')];
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const describeDeploy = describeWhen(
  has('docker-compose') && has('logrotate'),
  'deploy-script.e2e-spec: docker-compose or logrotate is not installed (scripts/setup.sh ' +
    'installs both): the production script test is SKIPPED',
);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeDeploy('scripts/deploy-executor-production.sh against a throw-away prefix', () => {
  const project = `executor-e2e-deploy-${process.pid}`;
  const runnerId = `deploy-e2e-${process.pid}`;
  let prefix: string;
  let env: NodeJS.ProcessEnv;
  let apiPort: number;
  let prometheusPort: number;
  const timings: Record<string, number[]> = {};

  const cronFile = () => join(prefix, 'etc', 'cron.d', `executor-${project}`);
  const logrotateFile = () => join(prefix, 'etc', 'logrotate.d', `executor-${project}`);
  const backupDir = () => join(prefix, 'var', 'backups', 'executor');

  async function deploy(
    args: string[],
    extraEnv: NodeJS.ProcessEnv = {},
    timeoutMs = 10 * 60000,
  ): Promise<CommandRun> {
    const t0 = Date.now();
    const run = await runToEnd(SCRIPT, args, {
      cwd: tmpdir(),
      env: { ...env, ...extraEnv },
      timeoutMs,
      keepChars: 40000,
    });
    const name = args.filter((a) => a.startsWith('--') && a !== '--prefix').join(' ') || 'deploy';
    timings[`${name}_s`] = [...(timings[`${name}_s`] ?? []), (Date.now() - t0) / 1000];
    return run;
  }

  function docker(args: string[], timeout = 60000): SpawnSyncReturns<string> {
    return spawnSync('docker', args, { encoding: 'utf8', timeout });
  }

  /** What a run could change: the prefix's files (path, size, mtime) and the stack's containers. */
  function state(): { files: string[]; containers: string } {
    const files: string[] = [];
    const walk = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const p = join(dir, name);
        const s = lstatSync(p);
        if (s.isDirectory()) walk(p);
        else files.push(`${p.slice(prefix.length)} ${s.size} ${s.mtimeMs}`);
      }
    };
    walk(prefix);
    const ids = docker([
      'ps',
      '-aq',
      '--filter',
      `label=com.docker.compose.project=${project}`,
    ]).stdout.trim();
    const containers = ids
      ? docker(['inspect', '-f', '{{.Name}} {{.Id}} {{.State.StartedAt}}', ...ids.split('\n')])
          .stdout.trim()
          .split('\n')
          .sort()
          .join('\n')
      : '';
    return { files: files.sort(), containers };
  }

  beforeAll(async () => {
    prefix = mkdtempSync(join(tmpdir(), 'executor-deploy-prefix-'));
    writeFileSync(join(prefix, 'empty.env'), '');
    apiPort = await freePort();
    prometheusPort = await freePort();
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      COMPOSE_PROJECT_NAME: project,
      EXECUTOR_ENV_FILE: join(prefix, 'empty.env'),
      EXECUTOR_API_PORT: String(apiPort),
      EXECUTOR_PROMETHEUS_PORT: String(prometheusPort),
      EXECUTOR_APP_IMAGE: 'executor/app:e2e',
      RUNNER_ID: runnerId,
      POOL_SIZES: 'default=1',
    };
  });

  afterAll(() => {
    const down = spawnSync(
      'docker-compose',
      [
        '-p',
        project,
        ...FILES,
        '--profile',
        'monitoring',
        'down',
        '-v',
        '--remove-orphans',
        '--timeout',
        '15',
      ],
      { cwd: ROOT, env: { ...env, EXECUTOR_ENV_FILE: undefined }, encoding: 'utf8', timeout: 180000 },
    );
    const sandboxes = docker(['ps', '-aq', '--filter', `label=executor.runner=${runnerId}`]).stdout.trim();
    if (sandboxes) docker(['rm', '-f', ...sandboxes.split('\n')]);
    const label = `label=com.docker.compose.project=${project}`;
    const left = {
      containers: docker(['ps', '-aq', '--filter', label]).stdout.trim(),
      networks: docker(['network', 'ls', '-q', '--filter', label]).stdout.trim(),
      volumes: docker(['volume', 'ls', '-q', '--filter', label]).stdout.trim(),
    };
    if (prefix) rmSync(prefix, { recursive: true, force: true });
    console.log(`deploy-script.e2e-spec timings (s): ${JSON.stringify(timings)}`);
    expect(down.status).toBe(0);
    expect(left).toEqual({ containers: '', networks: '', volumes: '' });
  }, 240000);

  it('stops with exit 3 naming a missing prerequisite, before changing anything', async () => {
    // A PATH with every command of this machine but logrotate.
    const bin = mkdtempSync(join(tmpdir(), 'executor-deploy-path-'));
    for (const dir of ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin']) {
      if (!existsSync(dir)) continue;
      for (const name of readdirSync(dir)) {
        if (name !== 'logrotate' && !existsSync(join(bin, name)))
          symlinkSync(join(dir, name), join(bin, name));
      }
    }
    const before = state();
    const run = await deploy(['--prefix', prefix], { PATH: bin });
    rmSync(bin, { recursive: true, force: true });
    expect(run.code).toBe(3);
    expect(run.out).toContain('missing prerequisite: logrotate');
    expect(state()).toEqual(before);
  });

  it('--dry-run prints every step and changes nothing', async () => {
    const before = state();
    const run = await deploy(['--dry-run', '--prefix', prefix]);
    expect(run.code).toBe(0);
    for (const step of [
      'would run: bash ' + join(ROOT, 'scripts', 'build-images.sh'),
      `-p ${project}`,
      ' build keys nats prometheus',
      ' up -d',
      `would write ${cronFile()}`,
      `would write ${logrotateFile()}`,
    ]) {
      expect({ step, found: run.out.includes(step) }).toEqual({ step, found: true });
    }
    expect(run.out).toContain('dry-run: done, nothing changed');
    expect(state()).toEqual(before);
  });

  it(
    'deploys: the stack with monitoring, the cron entry, log rotation, checked configuration, /health',
    async () => {
      const run = await deploy(['--prefix', prefix]);
      expect({ code: run.code, tail: run.code === 0 ? '' : run.out.slice(-3000) }).toEqual({
        code: 0,
        tail: '',
      });
      expect(run.out).toContain('first deploy): nothing to back up');
      expect(run.out).toContain(`health: http://127.0.0.1:${apiPort}/health answers 200`);

      const cron = readFileSync(cronFile(), 'utf8');
      expect(cron).toMatch(
        new RegExp(`^\\*/5 \\* \\* \\* \\* root .*${SCRIPT} --heal --prefix ${prefix} >>`, 'm'),
      );
      expect(cron).toContain(`COMPOSE_PROJECT_NAME=${project}`);

      const rotate = readFileSync(logrotateFile(), 'utf8');
      expect(rotate).toMatch(/^\s+daily$/m);
      expect(rotate).toMatch(/^\s+rotate 7$/m);
      const lr = spawnSync('logrotate', ['-d', '-s', join(prefix, 'logrotate.status'), logrotateFile()], {
        encoding: 'utf8',
      });
      expect(lr.status).toBe(0);
      expect(lr.stderr + lr.stdout).not.toMatch(/^error/im);
      rmSync(join(prefix, 'logrotate.status'), { force: true });

      const keyFile = join(prefix, 'placeholder.key');
      writeFileSync(keyFile, 'placeholder\n');
      const promtool = (...args: string[]) =>
        docker([
          'run',
          '--rm',
          '--network',
          'none',
          '--entrypoint',
          'promtool',
          '-v',
          `${join(ROOT, 'config', 'prometheus')}:/etc/prometheus:ro`,
          '-v',
          `${keyFile}:/prometheus-key/prometheus.key:ro`,
          'executor/prometheus:local',
          ...args,
        ]);
      const config = promtool('check', 'config', '/etc/prometheus/prometheus.yml');
      expect(config.stdout + config.stderr).toContain('SUCCESS');
      expect(config.status).toBe(0);
      const rules = promtool('check', 'rules', '/etc/prometheus/alerts.yml');
      expect(rules.stdout).toMatch(/SUCCESS: \d+ rules found/);
      expect(rules.status).toBe(0);
      // The alert rules' own unit tests (alerts.test.yml: which alert fires when, and which not).
      const ruleTests = promtool('test', 'rules', '/etc/prometheus/alerts.test.yml');
      expect(ruleTests.stdout + ruleTests.stderr).toContain('SUCCESS');
      expect(ruleTests.status).toBe(0);
      expect(run.out).toContain("promtool test rules: the alert rules' unit tests pass");
      rmSync(keyFile);

      // Metrics collection: Prometheus scrapes the API's exposition and the /health probes.
      const t0 = Date.now();
      let health: Record<string, string> = {};
      while (Date.now() - t0 < 90000) {
        const res = await fetch(`http://127.0.0.1:${prometheusPort}/api/v1/targets`).catch(() => undefined);
        if (res?.ok) {
          const body = (await res.json()) as {
            data: { activeTargets: Array<{ labels: Record<string, string>; health: string }> };
          };
          health = Object.fromEntries(
            body.data.activeTargets.map((t) => [
              `${t.labels.job}/${t.labels.check ?? t.labels.service ?? ''}`,
              t.health,
            ]),
          );
          if (Object.values(health).length >= 10 && Object.values(health).every((h) => h === 'up')) break;
        }
        await sleep(3000);
      }
      expect(health).toMatchObject({
        'executor-apps/api': 'up',
        'executor-health/all': 'up',
        'executor-health/event_store': 'up',
      });
      expect(Object.values(health).every((h) => h === 'up')).toBe(true);
    },
    12 * 60000,
  );

  it(
    'a second run changes nothing',
    async () => {
      const before = state();
      const run = await deploy(['--prefix', prefix]);
      expect(run.code).toBe(0);
      expect(run.out).toContain('nothing to restart');
      expect(run.out).toContain('no backup needed');
      expect(run.out).toContain('done: nothing changed');
      expect(state()).toEqual(before);
    },
    10 * 60000,
  );

  it('--dry-run on the deployed stack changes nothing', async () => {
    const before = state();
    const run = await deploy(['--dry-run', '--prefix', prefix]);
    expect(run.code).toBe(0);
    expect(run.out).toContain(`host: ${cronFile()} unchanged`);
    expect(state()).toEqual(before);
  });

  it('--heal, the cron job, finds every container healthy', async () => {
    const run = await deploy(['--heal', '--prefix', prefix]);
    expect(run.code).toBe(0);
    expect(run.out).toMatch(/\d+ containers running, none unhealthy/);
  });

  it(
    'backs the event store up before a deploy that changes a service, and keeps it usable',
    async () => {
      const run = await deploy(['--prefix', prefix], { MAX_SESSIONS: '150' });
      expect({ code: run.code, tail: run.code === 0 ? '' : run.out.slice(-3000) }).toEqual({
        code: 0,
        tail: '',
      });
      expect(run.out).toMatch(/plan: .*session-service\(running\)/);
      const backups = readdirSync(backupDir()).filter((f) => /^events-\d{8}T\d{6}Z\.sqlite$/.test(f));
      expect(backups).toHaveLength(1);
      const file = join(backupDir(), backups[0]);
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const db = new Database(file, { readonly: true });
      const { n } = db.prepare('SELECT count(*) AS n FROM events').get() as { n: number };
      db.close();
      expect(n).toBeGreaterThan(0);
    },
    10 * 60000,
  );
});
