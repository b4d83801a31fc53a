import { Agent, request } from 'node:http';
import { withRetry } from '../../libs/common/src/retry';

/** What the benches share to drive a stack of their own: its settings, one HTTP client, a pace. */

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Kept-alive connections for every bench request; destroy it when the bench ends. */
export const agent = new Agent({ keepAlive: true, maxSockets: 64 });

export interface RunReply {
  status: string;
  stdout: string;
  session_id?: string;
  artifacts?: Array<{ type: string }>;
  results?: Array<{ data: Record<string, string> }>;
}

/** One JSON POST over a kept-alive connection; anything but a 200 with status success throws. */
export function post<T = RunReply>(api: string, path: string, body: unknown): Promise<T> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      `${api}${path}`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          const json = JSON.parse(text) as T & { status?: string };
          if (res.statusCode !== 200 || json.status !== 'success')
            reject(new Error(`${path}: ${res.statusCode} ${text.slice(0, 300)}`));
          else resolve(json);
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

/** Closes the kept-alive connections that are idle now; the next requests open new ones. */
export function dropIdleSockets(): void {
  for (const sockets of Object.values(agent.freeSockets))
    for (const socket of sockets ?? []) socket.destroy();
}

/** A `post` refused for a busy runner or a quota (503, 429) is tried again, as a client would: a few times. */
export function retryRefused<T>(fn: () => Promise<T>): Promise<T> {
  return withRetry(fn, {
    retryOn: (err) => /: (503|429) /.test(String(err)),
    attempts: 5,
    firstMs: 1000,
    maxMs: 4000,
    onRetry: (err) => process.stderr.write(`retrying after ${String(err).slice(0, 200)}\n`),
  });
}

/** `fn(0)` … `fn(n - 1)`, at most `concurrency` at a time, each started as one before it ends. */
export async function eachAtMost(n: number, concurrency: number, fn: (i: number) => Promise<unknown>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) await fn(next++);
    }),
  );
}

/**
 * The settings a bench stack runs with: limits raised so the bench, not a quota, is measured;
 * `sessions` raises the session caps above what the bench will hold.
 */
export function benchEnv(opts: { sessions?: number; databaseUrl?: string } = {}): Record<string, string> {
  return {
    LOG_LEVEL: 'warn',
    RATE_LIMIT_PER_MINUTE: '1000000',
    MAX_CONCURRENT_EXECUTIONS: '64',
    // 32 clients queue for the runner's slots: on a small host they wait longer than the default 10 s.
    RUNNER_QUEUE_WAIT_S: '120',
    ...(opts.sessions !== undefined
      ? {
          MAX_SESSIONS: String(opts.sessions + 50),
          MAX_SESSIONS_PER_TENANT: String(opts.sessions + 50),
        }
      : {}),
    ...(opts.databaseUrl ? { EVENT_STORE_URL: opts.databaseUrl } : {}),
  };
}
