import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findRepoRoot } from '../../libs/common/src/repo-root';

export const ROOT = findRepoRoot(__dirname);
export const APPS = ['runner', 'template-service', 'session-service', 'metrics', 'api'] as const;
export type AppName = (typeof APPS)[number];

/** What the e2e tests need to reach the stack started by the global setup. */
export interface StackInfo {
  apiUrl: string;
  /** The server list the apps get (comma-separated for a cluster). */
  natsUrl: string;
  natsPort: number;
  /** Client, cluster and monitoring ports of each nats-server node (one unless a cluster was asked for). */
  natsNodes: Array<{ port: number; clusterPort: number; monitorPort: number }>;
  dbPath: string;
  runnerId: string;
  dir: string;
  env: Record<string, string>;
}

/** Stops waitFor at once: waiting longer cannot help. */
export class FatalError extends Error {}

/** Ports this process handed out: a stack binds them only when its processes start. */
const portsGiven = new Set<number>();

/**
 * A port free now on loopback, never one this process handed out before: the kernel may offer a
 * port again as soon as the probe closes, and two parts of one stack (its NATS and its API, the
 * nodes of a cluster) would then be told the same port.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((res, rej) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const addr = srv.address();
        const p = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => res(p));
      });
      srv.on('error', rej);
    });
    if (!portsGiven.has(port)) {
      portsGiven.add(port);
      return port;
    }
  }
}

export async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch (err) {
      if (err instanceof FatalError) throw err;
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let stacksCreated = 0;

/** The allocator the apps run on, looked up as scripts/run-stack.js does (scripts/lib/allocator.js). */
// A plain-JS module that run-stack.js loads without a build; loaded from the source tree by path,
// so this file works from src (jest) and from dist (benchmarks) alike.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { allocatorEnv } = require(join(ROOT, 'scripts/lib/allocator.js')) as {
  allocatorEnv: () => Record<string, string>;
};

/** A real stack on loopback: its own nats-server, its own SQLite file, the five apps from dist/. */
export class Stack {
  readonly processes = new Map<string, ChildProcess>();

  private constructor(readonly info: StackInfo) {}

  /** `natsNodes` > 1 runs a nats-server cluster on loopback; the apps get the list of its servers. */
  static async create(
    extraEnv: Record<string, string> = {},
    opts: { natsNodes?: number } = {},
  ): Promise<Stack> {
    const dir = mkdtempSync(join(tmpdir(), 'executor-e2e-'));
    const natsNodes: StackInfo['natsNodes'] = [];
    for (let i = 0; i < (opts.natsNodes ?? 1); i++) {
      natsNodes.push({
        port: await freePort(),
        clusterPort: await freePort(),
        monitorPort: await freePort(),
      });
    }
    const natsPort = natsNodes[0].port;
    const apiPort = await freePort();
    // Unique across test files too (each has its own copy of this module): a runner sweeps the
    // containers labelled with its id, and a shared id would sweep another stack's sandboxes.
    const runnerId = `e2e-${process.pid}-${++stacksCreated}${randomBytes(3).toString('hex')}`;
    const natsUrl = natsNodes.map((n) => `nats://127.0.0.1:${n.port}`).join(',');
    const dbPath = extraEnv.EVENT_STORE_PATH ?? join(dir, 'events.sqlite');
    const env: Record<string, string> = {
      NATS_URL: natsUrl,
      EVENT_STORE_PATH: dbPath,
      // The stack's own SQLite file, whatever the parent's environment says.
      EVENT_STORE_URL: '',
      METRICS_STORE_PATH: join(dir, 'metrics.sqlite'),
      API_HOST: '127.0.0.1',
      API_PORT: String(apiPort),
      RUNNER_ID: runnerId,
      TEMPLATES_DIR: join(ROOT, 'templates'),
      ...extraEnv,
    };
    return new Stack({
      apiUrl: `http://127.0.0.1:${apiPort}`,
      natsUrl,
      natsPort,
      natsNodes,
      dbPath,
      runnerId,
      dir,
      env,
    });
  }

  /** Every nats-server node, or only node `only` (0-based): `nats`, `nats-1`, `nats-2`, … */
  startNats(only?: number): void {
    const nodes = this.info.natsNodes;
    nodes.forEach((node, i) => {
      if (only !== undefined && i !== only) return;
      const name = i === 0 ? 'nats' : `nats-${i}`;
      const cluster =
        nodes.length > 1
          ? [
              '--cluster_name',
              'executor-e2e',
              '--cluster',
              `nats://127.0.0.1:${node.clusterPort}`,
              '--routes',
              nodes
                .filter((n) => n !== node)
                .map((n) => `nats://127.0.0.1:${n.clusterPort}`)
                .join(','),
            ]
          : [];
      const log = openSync(join(this.info.dir, `${name}.log`), 'a');
      const args = ['-c', join(ROOT, 'config', 'nats.conf'), '-a', '127.0.0.1', '-p', String(node.port)];
      if (nodes.length > 1) args.push('-m', String(node.monitorPort));
      const child = spawn('nats-server', [...args, ...cluster], { stdio: ['ignore', log, log] });
      this.processes.set(name, child);
    });
  }

  /** Starts an app; `name` and `env` run another instance of it (a second runner, say). */
  startApp(app: AppName, opts: { name?: string; env?: Record<string, string> } = {}): void {
    const entry = join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
    const name = opts.name ?? app;
    const log = openSync(join(this.info.dir, `${name}.log`), 'a');
    const child = spawn(process.execPath, [entry], {
      cwd: ROOT,
      env: { ...process.env, ...allocatorEnv(), ...this.info.env, ...opts.env },
      stdio: ['ignore', log, log],
    });
    this.processes.set(name, child);
  }

  async start(): Promise<void> {
    this.startNats();
    for (const app of APPS) this.startApp(app);
    await this.waitHealthy(60000);
  }

  async waitHealthy(timeoutMs: number): Promise<void> {
    await waitFor(
      async () => {
        for (const [name, child] of this.processes) {
          if (child.exitCode !== null) {
            const log = join(this.info.dir, `${name}.log`);
            const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-5).join('\n') : '';
            throw new FatalError(`${name} exited with ${child.exitCode}:\n${tail}`);
          }
        }
        return (await fetch(`${this.info.apiUrl}/health`)).status === 200;
      },
      timeoutMs,
      'a healthy stack',
    );
  }

  /** Signals a process and waits for it to exit; killed after `killAfterMs` if it has not. */
  async stopProcess(name: string, signal: NodeJS.Signals = 'SIGTERM', killAfterMs = 5000): Promise<void> {
    const child = this.processes.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    await exited;
    clearTimeout(timer);
    this.processes.delete(name);
  }

  /** One HTTP call to the API; the body is parsed as JSON when it is JSON. */
  async request<T = Record<string, unknown>>(
    method: 'GET' | 'POST' | 'DELETE',
    path: string,
    body?: unknown,
    timeoutMs = 120000,
  ): Promise<{ status: number; body: T; headers: Headers }> {
    const res = await fetch(`${this.info.apiUrl}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    return { status: res.status, body: parsed as T, headers: res.headers };
  }

  /** Apps first (the API first), then every nats-server node. */
  async stop(): Promise<void> {
    for (const app of [...APPS].reverse()) await this.stopProcess(app);
    const rest = [...this.processes.keys()];
    for (const name of rest.filter((n) => !n.startsWith('nats'))) await this.stopProcess(name);
    for (const name of rest.filter((n) => n.startsWith('nats'))) await this.stopProcess(name);
  }
}
