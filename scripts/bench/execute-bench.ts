/**
 * Benchmarks /execute on this machine, side by side with a naive baseline.
 *
 *   npm run bench                      # starts its own stack on free loopback ports
 *   BENCH_API_URL=http://127.0.0.1:8080 npm run bench   # measures a running stack
 *   BENCH_N=50 npm run bench           # more samples
 *
 * Writes bench-results/execute-<date>.json and prints a table. Traffic goes to loopback only.
 */
import Docker from 'dockerode';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { ROOT, Stack } from '../lib/stack';

const N = Number(process.env.BENCH_N ?? 20);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 8);
const IMAGE = 'executor/default:latest';
const docker = new Docker();

interface Stats {
  n: number;
  p50_ms: number;
  p95_ms: number;
  mean_ms: number;
  min_ms: number;
  max_ms: number;
}

function stats(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  const round = (v: number) => Math.round(v * 10) / 10;
  return {
    n: s.length,
    p50_ms: round(at(0.5)),
    p95_ms: round(at(0.95)),
    mean_ms: round(s.reduce((a, b) => a + b, 0) / s.length),
    min_ms: round(s[0]),
    max_ms: round(s[s.length - 1]),
  };
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

/** What the original executor does per request: create, start, exec, read, remove. */
async function naiveRun(code: string): Promise<string> {
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sleep', 'infinity'],
    User: '10001:10001',
    HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, Memory: 512 * 1024 * 1024, AutoRemove: false },
  });
  try {
    await container.start();
    const exec = await container.exec({
      Cmd: ['python3', '-c', code],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    const chunks: Buffer[] = [];
    out.on('data', (c: Buffer) => chunks.push(c));
    docker.modem.demuxStream(stream, out, new PassThrough());
    await new Promise((r) => stream.on('end', r));
    return Buffer.concat(chunks).toString();
  } finally {
    await container.remove({ force: true });
  }
}

async function bareContainer(): Promise<void> {
  const c = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['true'],
    HostConfig: { NetworkMode: 'none' },
  });
  await c.start();
  await c.wait();
  await c.remove({ force: true });
}

interface ExecuteReply {
  stdout: string;
  status: string;
  artifacts: Array<{ type: string }>;
}

async function execute(apiUrl: string, code: string, template = 'default'): Promise<ExecuteReply> {
  const res = await fetch(`${apiUrl}/execute`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ tenant_id: 'bench', scope: 'bench', code, template }),
  });
  const body = (await res.json()) as ExecuteReply;
  if (res.status !== 200 || body.status !== 'success')
    throw new Error(`execute failed: ${JSON.stringify(body)}`);
  return body;
}

const PLOT = [
  'import pandas as pd',
  'import matplotlib.pyplot as plt',
  'df = pd.DataFrame({"x": range(50), "y": [i * i for i in range(50)]})',
  'df.plot(x="x", y="y")',
  'plt.show()',
].join('\n');

async function plotRun(apiUrl: string): Promise<void> {
  const body = await execute(apiUrl, PLOT, 'python-data');
  if (!body.artifacts.some((a) => a.type === 'image/png')) throw new Error('no PNG came back');
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One request at a time; `paceMs` of idle time between them (an agent thinking), 0 for back to back. */
async function sequential(fn: () => Promise<void>, n: number, paceMs = 0): Promise<Stats> {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    if (paceMs > 0) await sleep(paceMs);
    samples.push(await timed(fn));
  }
  return stats(samples);
}

/** Completed operations per second with `concurrency` workers doing `total` operations. */
async function throughput(fn: () => Promise<void>, total: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < total) await fn();
    }),
  );
  return Math.round((total / ((performance.now() - t0) / 1000)) * 100) / 100;
}

async function main(): Promise<void> {
  let stack: Stack | undefined;
  let apiUrl = process.env.BENCH_API_URL;
  if (!apiUrl) {
    stack = await Stack.create({ LOG_LEVEL: 'warn' });
    await stack.start();
    apiUrl = stack.info.apiUrl;
  }
  try {
    // Warm up every path (page cache, first connections), then let the pools refill.
    await naiveRun('print(1)');
    await execute(apiUrl, 'print(1)');
    await plotRun(apiUrl);
    await sleep(3000);

    const url = apiUrl;
    const results = {
      machine: { cpus: (await import('node:os')).cpus().length, date: new Date().toISOString() },
      samples: N,
      baseline_naive_print1: await sequential(() => naiveRun('print(1)').then(() => undefined), N),
      execute_print1_paced_400ms: await sequential(
        () => execute(url, 'print(1)').then(() => undefined),
        N,
        400,
      ),
      execute_print1_back_to_back: await sequential(() => execute(url, 'print(1)').then(() => undefined), N),
      python_data_plot_paced_2s: await sequential(() => plotRun(url), Math.min(N, 10), 2000),
      bare_container_create_remove: await sequential(bareContainer, N),
      throughput_per_s: {
        bare_containers_concurrency_8: await throughput(bareContainer, N * 2, CONCURRENCY),
        execute_concurrency_8: await throughput(
          () => execute(url, 'print(1)').then(() => undefined),
          N * 2,
          CONCURRENCY,
        ),
      },
    };
    const ratio = results.execute_print1_paced_400ms.p50_ms / results.baseline_naive_print1.p50_ms;
    const report = {
      ...results,
      execute_paced_p50_vs_baseline: Math.round(ratio * 100) / 100,
      execute_throughput_vs_bare:
        Math.round(
          (results.throughput_per_s.execute_concurrency_8 /
            results.throughput_per_s.bare_containers_concurrency_8) *
            100,
        ) / 100,
    };
    const dir = join(ROOT, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `execute-${new Date().toISOString().slice(0, 10)}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(JSON.stringify(report, null, 2));
    console.log(`written to ${file}`);
  } finally {
    await stack?.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
