import { spawn, type ChildProcess } from 'node:child_process';
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
  natsUrl: string;
  natsPort: number;
  dbPath: string;
  runnerId: string;
  dir: string;
  env: Record<string, string>;
}

/** Stops waitFor at once: waiting longer cannot help. */
export class FatalError extends Error {}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => res(port));
    });
    srv.on('error', rej);
  });
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

/** A real stack on loopback: its own nats-server, its own SQLite file, the five apps from dist/. */
export class Stack {
  readonly processes = new Map<string, ChildProcess>();

  private constructor(readonly info: StackInfo) {}

  static async create(extraEnv: Record<string, string> = {}): Promise<Stack> {
    const dir = mkdtempSync(join(tmpdir(), 'executor-e2e-'));
    const [natsPort, apiPort] = [await freePort(), await freePort()];
    const runnerId = `e2e-${process.pid}-${++stacksCreated}`;
    const natsUrl = `nats://127.0.0.1:${natsPort}`;
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
      dbPath,
      runnerId,
      dir,
      env,
    });
  }

  startNats(): void {
    const log = openSync(join(this.info.dir, 'nats.log'), 'a');
    const child = spawn(
      'nats-server',
      ['-c', join(ROOT, 'config', 'nats.conf'), '-a', '127.0.0.1', '-p', String(this.info.natsPort)],
      { stdio: ['ignore', log, log] },
    );
    this.processes.set('nats', child);
  }

  startApp(app: AppName): void {
    const entry = join(ROOT, 'dist', 'apps', app, 'src', 'main.js');
    if (!existsSync(entry)) throw new Error(`${entry} is missing: run npm run build first`);
    const log = openSync(join(this.info.dir, `${app}.log`), 'a');
    const child = spawn(process.execPath, [entry], {
      cwd: ROOT,
      env: { ...process.env, ...this.info.env },
      stdio: ['ignore', log, log],
    });
    this.processes.set(app, child);
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

  async stopProcess(name: string, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.processes.get(name);
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
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

  async stop(): Promise<void> {
    for (const app of [...APPS].reverse()) await this.stopProcess(app);
    await this.stopProcess('nats');
  }
}
