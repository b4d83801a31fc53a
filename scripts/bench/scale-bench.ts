/**
 * Measures the limits docs/scaling.md quotes, on this machine:
 * - the event store: appends per second from one connection and from 4 at once, conflicting
 *   appends to one stream, and a full read, on SQLite and (in a throw-away database on the
 *   server EXECUTOR_TEST_POSTGRES_URL names, as npm test sets it) on PostgreSQL;
 * - one-off executions per second with one runner and with two on one NATS.
 *
 *   EXECUTOR_TEST_POSTGRES_URL=postgres://executor:executor@127.0.0.1:55432/executor npm run bench:scale
 *   BENCH_N=… executions per phase (default 120), BENCH_CONCURRENCY=… (default 8)
 *
 * Writes bench-results/scale-<date>.json and prints it. Traffic goes to loopback only.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { EventStore } from '../../libs/event-store/src/event-store';
import type { EventStoreOptions } from '../../libs/event-store/src/options';
import { createDatabase } from '../../libs/event-store/src/testing/postgres';
import { ROOT, Stack, waitFor } from '../lib/stack';

const N = Number(process.env.BENCH_N ?? 120);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);

const round = (v: number) => Math.round(v * 10) / 10;
function quantiles(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.floor(q * s.length))]);
  return { n: s.length, p50_ms: at(0.5), p99_ms: at(0.99), max_ms: round(s[s.length - 1]) };
}

async function storeBench(options: EventStoreOptions) {
  const run = randomUUID().slice(0, 8); // streams of this run only, also in a store used before
  const writers = await Promise.all([0, 1, 2, 3].map(() => EventStore.open(options)));
  try {
    const event = { type: 'ExecutionStarted' as const, data: { execution_id: 'x', code_bytes: 12 } };
    const appendMany = async (store: EventStore, prefix: string, count: number) => {
      const latencies: number[] = [];
      for (let i = 0; i < count; i++) {
        const t = performance.now();
        await store.append(`${prefix}-${i}`, 'execution', 0, [event as never]);
        latencies.push(performance.now() - t);
      }
      return latencies;
    };
    let t0 = performance.now();
    const single = await appendMany(writers[0], `${run}-one`, 1000);
    const singleS = (performance.now() - t0) / 1000;
    t0 = performance.now();
    const parallel = (
      await Promise.all(writers.map((w, i) => appendMany(w, `${run}-four-${i}`, 500)))
    ).flat();
    const parallelS = (performance.now() - t0) / 1000;
    // Conflicting writers: 4 connections race for the next version of one stream, 100 rounds.
    let won = 0;
    let refused = 0;
    for (let v = 0; v < 100; v++) {
      const results = await Promise.allSettled(
        writers.map((w) => w.append(`${run}-contended`, 'execution', v, [event as never])),
      );
      won += results.filter((r) => r.status === 'fulfilled').length;
      refused += results.filter((r) => r.status === 'rejected').length;
    }
    t0 = performance.now();
    let read = 0;
    for await (const e of writers[0].scan()) read += e.position > 0 ? 1 : 0;
    const readS = (performance.now() - t0) / 1000;
    return {
      one_writer: { appends_per_s: Math.round(1000 / singleS), latency: quantiles(single) },
      four_connections: { appends_per_s: Math.round(2000 / parallelS), latency: quantiles(parallel) },
      contended_stream: { rounds: 100, won, refused_with_concurrency_error: refused },
      scan: { events: read, events_per_s: Math.round(read / readS) },
    };
  } finally {
    for (const w of writers) await w.close();
  }
}

async function executions(stack: Stack, tenant: string): Promise<{ per_s: number; latency: object }> {
  const latencies: number[] = [];
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const i = next++;
        const t = performance.now();
        const r = await stack.request<{ stdout: string }>('POST', '/execute', {
          tenant_id: tenant,
          code: `print(${i})`,
        });
        if (r.status !== 200 || r.body.stdout !== `${i}\n`) throw new Error(`run ${i}: ${r.status}`);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  return { per_s: round(N / seconds), latency: quantiles(latencies) };
}

async function main(): Promise<void> {
  const results: Record<string, unknown> = {
    machine: { cpus: availableParallelism(), date: new Date().toISOString() },
  };

  const dir = mkdtempSync(join(tmpdir(), 'executor-scale-'));
  results.event_store_sqlite = await storeBench({ path: join(dir, 'bench.sqlite') });
  if (process.env.EXECUTOR_TEST_POSTGRES_URL) {
    const database = await createDatabase();
    try {
      results.event_store_postgres = await storeBench({ url: database.url });
    } finally {
      await database.drop();
    }
  }

  const stack = await Stack.create({ POOL_SIZES: 'default=4', RUNNER_CAPACITY: '8' });
  try {
    await stack.start();
    await executions(stack, 'warm'); // warm pools and caches
    results.executions_one_runner = { ...(await executions(stack, 'one')), runners: 1 };
    stack.startApp('runner', { name: 'runner-b', env: { RUNNER_ID: `${stack.info.runnerId}-b` } });
    await waitFor(
      async () => (await stack.request<{ status: string }>('GET', '/health')).status === 200,
      60000,
      'the second runner',
    );
    await new Promise((r) => setTimeout(r, 5000)); // its pool fills
    results.executions_two_runners = { ...(await executions(stack, 'two')), runners: 2 };
  } finally {
    await stack.stop();
  }

  mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
  const file = join(ROOT, 'bench-results', `scale-${new Date().toISOString().slice(0, 10)}.json`);
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
