/**
 * The compose deployment, checked without starting it: `docker-compose config` renders
 * docker-compose.yml (no image is pulled or built, nothing is started) and the rendered
 * services are asserted on; the deploy script is checked for syntax and its help.
 * Skipped, with a warning, where the docker-compose binary is absent.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '..', '..');
const COMPOSE_FILE = join(ROOT, 'docker-compose.yml');
const DEPLOY_SCRIPT = join(ROOT, 'scripts', 'deploy-executor-production.sh');
const APPS = ['api', 'session-service', 'template-service', 'runner', 'metrics'];
const SERVICES = ['nats', ...APPS];
const DOCKER_SOCKET = '/var/run/docker.sock';

interface ServiceConfig {
  image?: string;
  build?: { context?: string; args?: Record<string, string> } | string;
  command?: string[] | string;
  environment?: Record<string, string | number | null>;
  volumes?: Array<string | { type?: string; source?: string; target?: string }>;
  ports?: Array<string | { host_ip?: string; published?: string | number; target?: number }>;
  restart?: string;
  healthcheck?: { test?: string[] | string };
  logging?: { driver?: string; options?: Record<string, string> };
  group_add?: Array<string | number>;
}

interface ComposeConfig {
  services: Record<string, ServiceConfig>;
  volumes?: Record<string, unknown>;
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 60000 });
}

const composeVersion = run('docker-compose', ['version', '--short']);
const hasCompose = !composeVersion.error && composeVersion.status === 0;
if (!hasCompose) {
  console.warn(
    'compose.e2e-spec: the docker-compose binary is not installed (apt-get install docker-compose): ' +
      'the compose file checks are skipped',
  );
}
const describeCompose = hasCompose ? describe : describe.skip;

/** `host:container` of every mount (short syntax of compose 1.x, long syntax of compose 2). */
function mounts(svc: ServiceConfig): string[] {
  return (svc.volumes ?? []).map((v) =>
    typeof v === 'string' ? v.split(':').slice(0, 2).join(':') : `${v.source}:${v.target}`,
  );
}

/** `host_ip:published:target` of every published port. */
function ports(svc: ServiceConfig): string[] {
  return (svc.ports ?? []).map((p) =>
    typeof p === 'string' ? p.replace(/\/tcp$/, '') : `${p.host_ip ?? ''}:${p.published}:${p.target}`,
  );
}

describeCompose('docker-compose.yml', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let config: ComposeConfig;

  /** `docker-compose config` with a controlled environment; a local .env is not read. */
  function compose(args: string[], extraEnv: NodeJS.ProcessEnv = env): SpawnSyncReturns<string> {
    return run(
      'docker-compose',
      ['--env-file', join(dir, 'empty.env'), '-p', 'executor-e2e', '-f', COMPOSE_FILE, ...args],
      extraEnv,
    );
  }

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'executor-compose-'));
    writeFileSync(join(dir, 'empty.env'), '');
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DOCKER_GID: '4242',
      EXECUTOR_API_KEYS: 'e2e:admin:compose-spec-key',
    };
    const version = composeVersion.stdout.trim();
    let rendered: SpawnSyncReturns<string>;
    if (/^1\./.test(version)) {
      // compose 1.x prints YAML only; its own PyYAML turns it into JSON.
      const yaml = compose(['config']);
      expect(yaml.status).toBe(0);
      expect(yaml.stderr).not.toMatch(/WARNING|not set/);
      rendered = spawnSync(
        'python3',
        ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
        { input: yaml.stdout, encoding: 'utf8', timeout: 30000 },
      );
    } else {
      rendered = compose(['config', '--format', 'json']);
    }
    expect(rendered.status).toBe(0);
    config = JSON.parse(rendered.stdout) as ComposeConfig;
  });

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('is valid and has the six services', () => {
    const res = compose(['config', '--services']);
    expect(res.status).toBe(0);
    expect(res.stdout.trim().split('\n').sort()).toEqual([...SERVICES].sort());
    expect(Object.keys(config.services).sort()).toEqual([...SERVICES].sort());
  });

  it('refuses to render without DOCKER_GID, naming it', () => {
    const res = compose(['config', '-q'], { ...env, DOCKER_GID: '' });
    expect(res.status).not.toBe(0);
    expect(res.stderr).toContain('DOCKER_GID');
  });

  it('mounts the Docker socket into the runner only, with the socket group added', () => {
    for (const name of SERVICES) {
      const hasSocket = mounts(config.services[name]).some((m) => m.startsWith(`${DOCKER_SOCKET}:`));
      expect({ name, hasSocket }).toEqual({ name, hasSocket: name === 'runner' });
    }
    expect(mounts(config.services.runner)).toContain(`${DOCKER_SOCKET}:${DOCKER_SOCKET}`);
    expect((config.services.runner.group_add ?? []).map(String)).toEqual(['4242']);
  });

  it('publishes only the API, on the loopback address of the host', () => {
    expect(ports(config.services.api)).toEqual(['127.0.0.1:8080:8080']);
    for (const name of SERVICES.filter((s) => s !== 'api')) {
      expect({ name, ports: ports(config.services[name]) }).toEqual({ name, ports: [] });
    }
    // Inside its container the API listens on every address, which it allows only with keys.
    const apiEnv = config.services.api.environment ?? {};
    expect(apiEnv.API_HOST).toBe('0.0.0.0');
    expect(apiEnv.EXECUTOR_API_KEYS).toBe('e2e:admin:compose-spec-key');
    expect(apiEnv).toHaveProperty('API_KEYS_FILE');
  });

  it('runs every app from one image built from this repository, each with its own entry point', () => {
    const images = new Set(APPS.map((name) => config.services[name].image));
    expect([...images]).toEqual(['executor/app:latest']);
    for (const name of APPS) {
      const svc = config.services[name];
      const build = typeof svc.build === 'string' ? { context: svc.build } : (svc.build ?? {});
      expect(resolve(ROOT, build.context ?? '')).toBe(ROOT);
      expect(build.args?.BASE_IMAGE).toBe('executor/base:bookworm');
      const command = Array.isArray(svc.command) ? svc.command.join(' ') : (svc.command ?? '');
      expect(command).toBe(`node dist/apps/${name}/src/main.js`);
      expect(svc.environment?.NATS_URL).toBe('nats://nats:4222');
    }
    expect(config.services.runner.environment?.RUNNER_ID).toBe('executor-runner');
  });

  it('shares one named volume for the SQLite files among the services that use the store', () => {
    expect(Object.keys(config.volumes ?? {})).toContain('executor-data');
    for (const name of ['runner', 'session-service', 'template-service', 'metrics']) {
      const svc = config.services[name];
      expect(mounts(svc)).toContain('executor-data:/data');
      expect(svc.environment?.EVENT_STORE_PATH).toBe('/data/events.sqlite');
      expect(svc.environment?.METRICS_STORE_PATH).toBe('/data/metrics.sqlite');
    }
    expect(mounts(config.services.api)).not.toContain('executor-data:/data');
  });

  it('restarts, health-checks and rotates the logs of every service', () => {
    for (const name of SERVICES) {
      const svc = config.services[name];
      expect({ name, restart: svc.restart }).toEqual({ name, restart: 'unless-stopped' });
      expect({ name, healthcheck: (svc.healthcheck?.test ?? []).length > 0 }).toEqual({
        name,
        healthcheck: true,
      });
      expect({ name, logging: svc.logging }).toEqual({
        name,
        logging: { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '5' } },
      });
    }
    const apiCheck = config.services.api.healthcheck?.test ?? [];
    expect([apiCheck].flat().join(' ')).toContain('http://127.0.0.1:8080/health');
  });
});

describe('scripts/deploy-executor-production.sh', () => {
  it('is executable and parses with bash -n', () => {
    expect(statSync(DEPLOY_SCRIPT).mode & 0o111).not.toBe(0);
    const res = run('bash', ['-n', DEPLOY_SCRIPT]);
    expect(res.stderr).toBe('');
    expect(res.status).toBe(0);
  });

  it('prints its options with --help and exits 0 without touching Docker', () => {
    const res = run(DEPLOY_SCRIPT, ['--help'], { PATH: '/usr/bin:/bin' });
    expect(res.status).toBe(0);
    for (const flag of ['--skip-backup', '--skip-health-check', '--help']) {
      expect(res.stdout).toContain(flag);
    }
  });

  it('refuses an unknown option with exit code 2', () => {
    const res = run(DEPLOY_SCRIPT, ['--no-such-option'], { PATH: '/usr/bin:/bin' });
    expect(res.status).toBe(2);
    expect(res.stderr).toContain('unknown option: --no-such-option');
  });
});
