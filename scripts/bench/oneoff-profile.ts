/**
 * `npm run bench:oneoff`: where a one-off `/execute` spends its time and CPU. Starts a stack of
 * its own on loopback, runs `--samples` paced one-offs (`print(1)`, or the python-data plot with
 * `--plot`), and prints, per run: the latency, the kernel's own `execution_time`, the CPU
 * milliseconds each app, nats-server, dockerd and containerd spent beyond what they spend idle
 * (measured for 5 s first; the engine's idle share includes other stacks on the same engine),
 * and the whole machine's CPU (shared with whatever else runs on it: read it beside the load
 * average it prints).
 *
 *   npm run bench:oneoff -- --samples 30 --pace 400
 *   npm run bench:oneoff -- --plot --samples 15 --pace 2000
 *   npm run bench:oneoff -- --clients 8 --samples 64          # throughput: CPU per run at 8 clients
 *   npm run bench:oneoff -- --cpu-prof /tmp/prof              # also a V8 CPU profile of every app
 *
 * Traffic goes to loopback only.
 */
import { mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readArgs } from '../lib/cli-args';
import { ROOT, Stack } from '../lib/stack';
import { cpuMs, PLOT } from './probes';
import { quantiles } from './bench-report';
import { benchEnv, sleep } from './bench-client';

const load = () => loadavg().map((v) => Math.round(v * 100) / 100);
const TICK_MS = 10;
const IDLE_MS = 5000;

/** CPU milliseconds the whole machine spent busy (every core, every process). */
function machineBusyMs(): number {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0].split(/\s+/).slice(1).map(Number);
  const idle = cpu[3] + cpu[4];
  return (cpu.reduce((a, b) => a + b, 0) - idle) * TICK_MS;
}

/** The pids of processes with this command name. */
function pidsOf(comm: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) pids.push(Number(entry));
    } catch {
      // gone
    }
  }
  return pids;
}

interface Reply {
  status: string;
  execution_time: number;
  artifacts?: Array<{ type: string }>;
}

async function main(): Promise<void> {
  const { values } = readArgs(process.argv.slice(2), {
    samples: 'integer',
    pace: 'integer',
    clients: 'integer',
    plot: 'boolean',
    'cpu-prof': 'string',
  });
  const samples = values.samples ?? 30;
  const pace = values.pace ?? (values.plot ? 2000 : 400);
  const clients = values.clients ?? 1;
  const body = values.plot
    ? { tenant_id: 'profile', code: PLOT, template: 'python-data' }
    : { tenant_id: 'profile', code: 'print(1)' };
  const profDir = values['cpu-prof'];
  if (profDir) mkdirSync(profDir, { recursive: true });
  const stack = await Stack.create({
    ...benchEnv(),
    ...(profDir
      ? {
          NODE_OPTIONS: `--require ${join(ROOT, 'scripts/bench/cpu-profile-preload.js')}`,
          EXECUTOR_CPU_PROF_DIR: profDir,
        }
      : {}),
  });
  process.stderr.write(`stack logs in ${stack.info.dir}\n`);
  try {
    await stack.start();
    const run = async (): Promise<Reply> => {
      const res = await stack.request<Reply>('POST', '/execute', body);
      if (res.status !== 200 || res.body.status !== 'success')
        throw new Error(`/execute: ${res.status} ${JSON.stringify(res.body).slice(0, 300)}`);
      if (values.plot && !res.body.artifacts?.some((a) => a.type === 'image/png'))
        throw new Error('no PNG came back');
      return res.body;
    };
    for (let i = 0; i < 3; i++) await run();
    await sleep(3000);
    const procs: Array<[string, number[]]> = [
      ...[...stack.processes].filter(([, c]) => c.pid).map(([n, c]) => [n, [c.pid!]] as [string, number[]]),
      ['dockerd', pidsOf('dockerd')],
      ['containerd', pidsOf('containerd')],
    ];
    const cpu = () => procs.map(([, pids]) => pids.reduce((a, p) => a + cpuMs(p), 0));
    // What the stack spends idle (heartbeats, ticks, scrapes) is taken out of the per-run numbers.
    const idleStart = cpu();
    const idleT0 = performance.now();
    await sleep(IDLE_MS);
    const idlePerMs = cpu().map((v, i) => (v - idleStart[i]) / (performance.now() - idleT0));
    const loadBefore = load();
    const before = cpu();
    const windowT0 = performance.now();
    const machineBefore = machineBusyMs();
    const latency: number[] = [];
    const kernel: number[] = [];
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: clients }, async () => {
        while (next++ < samples) {
          if (clients === 1 && pace > 0) await sleep(pace);
          const start = performance.now();
          const reply = await run();
          latency.push(performance.now() - start);
          kernel.push(reply.execution_time * 1000);
        }
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    // What the run left behind (container removal, pool refill) is part of its cost.
    await sleep(Math.max(2000, pace));
    const after = cpu();
    const windowMs = performance.now() - windowT0;
    const perRun = (ms: number) => Math.round((ms / samples) * 10) / 10;
    const report = {
      load_before: loadBefore,
      load_after: load(),
      samples,
      clients,
      pace_ms: clients === 1 ? pace : 0,
      rate_per_s: Math.round((samples / wallS) * 100) / 100,
      latency: quantiles(latency),
      kernel_execution_time: quantiles(kernel),
      cpu_ms_per_run: Object.fromEntries(
        procs.map(([n], i) => [n, perRun(after[i] - before[i] - idlePerMs[i] * windowMs)]),
      ),
      idle_cpu_ms_per_s: Object.fromEntries(
        procs.map(([n], i) => [n, Math.round(idlePerMs[i] * 10000) / 10]),
      ),
      machine_busy_ms_per_run: perRun(machineBusyMs() - machineBefore),
    };
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : '';
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}${cause}\n`);
  process.exit(1);
});
