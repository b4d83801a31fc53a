/**
 * The compose deployment, brought up as the documentation says, on this machine's engine:
 * the images are built from this checkout (cached layers make it quick), then
 * `<compose> -f docker-compose.yml -f docker-compose.executor.yml up -d executor` with no
 * variable set but a free loopback port and test names; /health, a one-off and a session
 * through the published port, the Docker proxy refusing what the runner does not use, a
 * killed runner coming back healthy; everything torn down (containers, networks, volumes,
 * the runner's sandboxes), also when a test fails. Skipped, with a warning, where neither
 * docker-compose nor the `docker compose` plugin exists.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { freePort } from '../../scripts/lib/stack';
import { describeWhen } from './support/describe-when';
import { runToEnd } from './support/run-to-end';

const ROOT = resolve(__dirname, '..', '..');
const FILES = ['-f', join(ROOT, 'docker-compose.yml'), '-f', join(ROOT, 'docker-compose.executor.yml')];
const APPS = ['api', 'session-service', 'template-service', 'runner', 'metrics'];
const CA_DIR = '/usr/local/share/ca-certificates';

/** docker-compose (Debian's 1.29) where installed, else the Compose plugin. */
function composeBinary(): string[] | undefined {
  const v1 = spawnSync('docker-compose', ['version', '--short'], { encoding: 'utf8' });
  if (!v1.error && v1.status === 0) return ['docker-compose'];
  const v2 = spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8' });
  if (!v2.error && v2.status === 0) return ['docker', 'compose'];
  return undefined;
}

const BIN = composeBinary();
const describeCompose = describeWhen(
  BIN !== undefined,
  'compose.e2e-spec: neither docker-compose nor the docker compose plugin is installed ' +
    '(apt-get install docker-compose): the compose deployment test is SKIPPED',
);

interface ServiceConfig {
  image?: string;
  volumes?: Array<string | { source?: string; target?: string }>;
  ports?: Array<string | { host_ip?: string; published?: string | number; target?: number }>;
  depends_on?: Record<string, { condition?: string }> | string[];
  healthcheck?: { test?: string[] | string };
  restart?: string;
  profiles?: string[];
}

interface Result {
  status: string;
  stdout: string;
  stderr: string;
  session_id?: string;
}

/**
 * The host's own extra CAs (an intercepting proxy's), for npm inside the image build: the
 * very string the deploy script passes (`$(cat …/*.crt)`), so both hit the same layer cache.
 */
function hostExtraCas(): string {
  try {
    return readdirSync(CA_DIR)
      .filter((f) => f.endsWith('.crt'))
      .sort()
      .map((f) => readFileSync(join(CA_DIR, f), 'utf8'))
      .join('')
      .replace(/\n+$/, '');
  } catch {
    return '';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describeCompose('the compose deployment, up as documented', () => {
  const project = `executor-e2e-compose-${process.pid}`;
  const runnerId = `compose-e2e-${process.pid}`;
  let env: NodeJS.ProcessEnv;
  let apiUrl: string;
  let adminKey: string;
  const timings: Record<string, number> = {};

  function composeSync(args: string[], timeout = 60000): SpawnSyncReturns<string> {
    const [cmd, ...pre] = BIN ?? [];
    return spawnSync(cmd, [...pre, '-p', project, ...FILES, ...args], {
      cwd: ROOT,
      env,
      encoding: 'utf8',
      timeout,
    });
  }

  /** Runs compose to the end (long builds and ups), failing with its last output. */
  async function compose(args: string[], timeoutMs: number): Promise<string> {
    const [cmd, ...pre] = BIN ?? [];
    const { code, out } = await runToEnd(cmd, [...pre, '-p', project, ...FILES, ...args], {
      cwd: ROOT,
      env,
      timeoutMs,
      keepChars: 20000,
    });
    if (code !== 0) throw new Error(`compose ${args.join(' ')} exited ${code}:\n${out.slice(-4000)}`);
    return out;
  }

  function docker(args: string[], timeout = 30000): SpawnSyncReturns<string> {
    return spawnSync('docker', args, { encoding: 'utf8', timeout });
  }

  const containerOf = (service: string) => composeSync(['ps', '-q', service]).stdout.trim();
  const healthOf = (cid: string) =>
    docker(['inspect', '-f', '{{if .State.Health}}{{.State.Health.Status}}{{end}}', cid]).stdout.trim();

  /**
   * fetch, once more when the connection fails before an answer: a kept-alive connection
   * through Docker's port forwarding may be closed by the API just as it is reused.
   */
  async function request(url: string, init: RequestInit = {}): Promise<Response> {
    try {
      return await fetch(url, init);
    } catch {
      return fetch(url, init);
    }
  }

  async function call<T = Result>(path: string, body?: unknown): Promise<{ status: number; body: T }> {
    const res = await request(`${apiUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${adminKey}` },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(60000),
    });
    return { status: res.status, body: (await res.json()) as T };
  }

  async function healthStatus(): Promise<number> {
    try {
      return (await request(`${apiUrl}/health`, { signal: AbortSignal.timeout(8000) })).status;
    } catch {
      return 0;
    }
  }

  async function until(what: string, ok: () => Promise<boolean> | boolean, ms: number): Promise<number> {
    const t0 = Date.now();
    while (Date.now() - t0 < ms) {
      if (await ok()) return Date.now() - t0;
      await sleep(1000);
    }
    throw new Error(`${what}: not within ${ms / 1000} s`);
  }

  beforeAll(async () => {
    const port = await freePort();
    apiUrl = `http://127.0.0.1:${port}`;
    // Nothing a user must set: only what keeps this stack apart from others on the engine.
    env = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      EXECUTOR_API_PORT: String(port),
      EXECUTOR_APP_IMAGE: 'executor/app:e2e',
      RUNNER_ID: runnerId,
      POOL_SIZES: 'default=1',
      EXECUTOR_BUILD_CA_CERTS: hostExtraCas(),
    };
    // The images from this checkout (the documented `up` builds only what is missing).
    let t0 = Date.now();
    await compose(['build', 'executor', 'nats'], 15 * 60000);
    timings.build_s = (Date.now() - t0) / 1000;
    t0 = Date.now();
    await compose(['up', '-d', 'executor'], 6 * 60000);
    timings.up_s = (Date.now() - t0) / 1000;
    adminKey = composeSync(['exec', '-T', 'api', 'cat', '/keys/admin.key']).stdout.trim();
  }, 22 * 60000);

  afterAll(async () => {
    const down = composeSync(['down', '-v', '--remove-orphans', '--timeout', '15'], 180000);
    // The runner's sandboxes are siblings on the engine, not part of the project.
    const sandboxes = docker(['ps', '-aq', '--filter', `label=executor.runner=${runnerId}`]).stdout.trim();
    if (sandboxes) docker(['rm', '-f', ...sandboxes.split('\n')], 60000);
    const ofProject = (list: string[]) =>
      docker([...list, '--filter', `label=com.docker.compose.project=${project}`]).stdout.trim();
    const left = {
      containers: ofProject(['ps', '-aq']),
      networks: ofProject(['network', 'ls', '-q']),
      volumes: ofProject(['volume', 'ls', '-q']),
      sandboxes: docker(['ps', '-aq', '--filter', `label=executor.runner=${runnerId}`]).stdout.trim(),
    };
    console.log(`compose.e2e-spec timings (s): ${JSON.stringify(timings)}`);
    expect(down.status).toBe(0);
    expect(left).toEqual({ containers: '', networks: '', volumes: '', sandboxes: '' });
    await Promise.resolve();
  }, 240000);

  it('renders with no variable set: no version key, healthy dependencies, the socket only in the proxy, loopback ports', () => {
    const rendered = composeSync(['--profile', 'monitoring', '--profile', 'postgres', 'config']);
    expect(rendered.stderr).not.toMatch(/WARNING|not set/i);
    expect(rendered.status).toBe(0);
    const json = spawnSync(
      'python3',
      ['-c', 'import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)'],
      { input: rendered.stdout, encoding: 'utf8', timeout: 30000 },
    );
    const config = JSON.parse(json.stdout) as { services: Record<string, ServiceConfig> };
    const names = Object.keys(config.services).sort();
    expect(names).toEqual(
      [...APPS, 'executor', 'nats', 'docker-proxy', 'keys', 'postgres', 'prometheus', 'blackbox'].sort(),
    );
    expect(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8')).not.toMatch(/^version:/m);
    for (const [name, svc] of Object.entries(config.services)) {
      const mounts = (svc.volumes ?? []).map((v) => (typeof v === 'string' ? v.split(':')[0] : v.source));
      expect({ name, socket: mounts.includes('/var/run/docker.sock') }).toEqual({
        name,
        socket: name === 'docker-proxy',
      });
      for (const p of svc.ports ?? []) {
        const hostIp = typeof p === 'string' ? p.split(':')[0] : p.host_ip;
        expect({ name, hostIp }).toEqual({ name, hostIp: '127.0.0.1' });
      }
      if (name !== 'keys')
        expect({ name, restart: svc.restart }).toEqual({ name, restart: 'unless-stopped' });
      if (name !== 'keys')
        expect({ name, healthcheck: !!svc.healthcheck?.test }).toEqual({ name, healthcheck: true });
      const deps = svc.depends_on && !Array.isArray(svc.depends_on) ? Object.entries(svc.depends_on) : [];
      for (const [dep, { condition }] of deps) {
        expect({ name, dep, condition }).toEqual({
          name,
          dep,
          condition: dep === 'keys' ? 'service_completed_successfully' : 'service_healthy',
        });
      }
    }
    expect(Object.keys(config.services.executor.depends_on ?? {}).sort()).toEqual([...APPS].sort());
    expect(config.services.prometheus.profiles).toEqual(['monitoring']);
    expect(config.services.postgres.profiles).toEqual(['postgres']);
  });

  it('answers /health with 200 once `up -d executor` returns, every service healthy', async () => {
    expect(await healthStatus()).toBe(200);
    const body = (await (await request(`${apiUrl}/health`)).json()) as {
      checks: Record<string, { status: string }>;
    };
    for (const [name, check] of Object.entries(body.checks)) {
      expect({ name, status: check.status }).toEqual({ name, status: 'healthy' });
    }
    // `up` returns once executor's dependencies are healthy; its own check follows.
    await until('executor healthy', () => healthOf(containerOf('executor')) === 'healthy', 60000);
    for (const service of [...APPS, 'executor', 'nats', 'docker-proxy']) {
      expect({ service, health: healthOf(containerOf(service)) }).toEqual({ service, health: 'healthy' });
    }
    expect(adminKey).toMatch(/^exk_/);
  });

  it('asks for a key (made by the keys service) on everything but /health', async () => {
    const res = await request(`${apiUrl}/templates`);
    expect(res.status).toBe(401);
  });

  it('runs a one-off execution in a sandbox', async () => {
    const res = await call('/execute', { tenant_id: 'compose', code: 'print(6 * 7)', language: 'python' });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ status: 'success', stdout: '42\n' });
  });

  it('keeps a session’s variables between calls', async () => {
    const created = await call('/session/create', { tenant_id: 'compose', scope: 'e2e', reuse: false });
    expect(created.status).toBe(200);
    const id = created.body.session_id as string;
    expect(
      (await call('/session/execute', { session_id: id, tenant_id: 'compose', code: 'x = 41' })).body.status,
    ).toBe('success');
    const next = await call('/session/execute', {
      session_id: id,
      tenant_id: 'compose',
      code: 'print(x + 1)',
    });
    expect(next.body).toMatchObject({ status: 'success', stdout: '42\n' });
    expect((await call('/session/destroy', { session_id: id, tenant_id: 'compose' })).status).toBe(200);
  });

  it('passes the runner only the Engine API calls it uses', () => {
    const ask = (method: string, path: string) =>
      composeSync([
        'exec',
        '-T',
        'runner',
        'node',
        '-e',
        `require('http').request({ socketPath: '/run/docker-proxy/docker.sock', method: '${method}', path: '${path}' },
          (r) => { console.log(r.statusCode); r.resume(); }).on('error', (e) => console.log(e.message)).end()`,
      ]).stdout.trim();
    expect(ask('GET', '/_ping')).toBe('200');
    expect(ask('GET', '/v1.41/containers/json')).toBe('200');
    expect(ask('POST', '/containers/nonexistent/exec')).toBe('403');
    expect(ask('GET', '/volumes')).toBe('403');
    expect(ask('POST', '/images/create?fromImage=busybox')).toBe('403');
    // The runner has no socket of the engine's own.
    expect(composeSync(['exec', '-T', 'runner', 'test', '-e', '/var/run/docker.sock']).status).toBe(1);
  });

  it('brings a killed runner back healthy, and runs code again', async () => {
    const before = containerOf('runner');
    const startedAt = () => docker(['inspect', '-f', '{{.State.StartedAt}}', before]).stdout.trim();
    const first = startedAt();
    // A crash, not `docker kill` (which Docker counts as stopped on purpose): SIGKILL to the
    // container's init from the host. Docker restarts it (unless-stopped); it is healthy
    // once it answers with every check.
    const pid = Number(docker(['inspect', '-f', '{{.State.Pid}}', before]).stdout.trim());
    expect(pid).toBeGreaterThan(1);
    process.kill(pid, 'SIGKILL');
    await until('the runner restarted', () => startedAt() !== first, 60000);
    const healthyAfter = await until(
      'the runner healthy again',
      () => healthOf(before) === 'healthy',
      120000,
    );
    timings.runner_back_healthy_s = healthyAfter / 1000;
    await until('/health 200 again', async () => (await healthStatus()) === 200, 60000);
    const res = await call('/execute', { tenant_id: 'compose', code: 'print("back")', language: 'python' });
    expect(res.body).toMatchObject({ status: 'success', stdout: 'back\n' });
  }, 300000);
});
