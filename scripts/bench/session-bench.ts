/**
 * Benchmarks sessions: `/session/execute` of `x += 1` through the API, and the memory that
 * 100 idle sessions of the default template cost (runner RSS plus container memory).
 *
 *   npm run bench:sessions                 # starts its own stack on free loopback ports
 *   BENCH_SESSIONS=50 npm run bench:sessions
 *
 * Writes bench-results/sessions-<date>.json. Traffic goes to loopback only.
 */
import Docker from 'dockerode';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { ROOT, Stack } from '../lib/stack';

const N = Number(process.env.BENCH_N ?? 200);
const SESSIONS = Number(process.env.BENCH_SESSIONS ?? 100);
const docker = new Docker();

async function call<T>(api: string, path: string, body: unknown): Promise<T> {
  const res = await fetch(`${api}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await res.json()) as T & { status: string };
  if (res.status !== 200 || json.status !== 'success')
    throw new Error(`${path} failed: ${JSON.stringify(json)}`);
  return json;
}

function percentile(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return Math.round(s[Math.min(s.length - 1, Math.floor(q * s.length))] * 100) / 100;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Memory a container uses, from its cgroup (v1 or v2), or from the engine's stats. */
async function containerMemory(id: string): Promise<number> {
  for (const path of [
    `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
  ]) {
    if (existsSync(path)) return Number(readFileSync(path, 'utf8').trim());
  }
  const stats = (await docker.getContainer(id).stats({ stream: false })) as {
    memory_stats?: { usage?: number };
  };
  return stats.memory_stats?.usage ?? 0;
}

const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function main(): Promise<void> {
  const stack = await Stack.create({
    MAX_SESSIONS: String(SESSIONS + 50),
    MAX_SESSIONS_PER_TENANT: String(SESSIONS + 50),
    POOL_SIZES: 'default=2',
  });
  await stack.start();
  const api = stack.info.apiUrl;
  try {
    // 1. Latency of a stateful increment.
    const { session_id } = await call<{ session_id: string }>(api, '/session/create', {
      tenant_id: 'bench',
      scope: 'lat',
    });
    await call(api, '/session/execute', { session_id, code: 'x = 0' });
    for (let i = 0; i < 20; i++) await call(api, '/session/execute', { session_id, code: 'x += 1' });
    const samples: number[] = [];
    for (let i = 0; i < N; i++) {
      const t0 = performance.now();
      await call(api, '/session/execute', { session_id, code: 'x += 1' });
      samples.push(performance.now() - t0);
    }
    const check = await call<{ results: Array<{ data: { 'text/plain': string } }> }>(
      api,
      '/session/execute',
      {
        session_id,
        code: 'x',
      },
    );
    if (check.results[0].data['text/plain'] !== String(N + 20)) throw new Error('the counter did not count');
    await call(api, '/session/destroy', { session_id });

    // 2. Memory of idle sessions.
    const runnerPid = stack.processes.get('runner')!.pid!;
    await new Promise((r) => setTimeout(r, 2000));
    const rssBefore = rssBytes(runnerPid);
    const t0 = performance.now();
    const ids: string[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const s = await call<{ session_id: string }>(api, '/session/create', {
        tenant_id: 'bench',
        scope: `idle-${i}`,
      });
      ids.push(s.session_id);
      await call(api, '/session/execute', { session_id: s.session_id, code: `value = ${i}` });
    }
    const createSeconds = (performance.now() - t0) / 1000;
    await new Promise((r) => setTimeout(r, 3000));
    const rssAfter = rssBytes(runnerPid);
    const containers = await docker.listContainers({
      filters: { label: [`executor.runner=${stack.info.runnerId}`] },
    });
    const memories = await Promise.all(containers.map((c) => containerMemory(c.Id)));
    const containerTotal = memories.reduce((a, b) => a + b, 0);
    // Every session still answers with its own state.
    const probe = await call<{ stdout: string }>(api, '/session/execute', {
      session_id: ids[SESSIONS - 1],
      code: 'print(value)',
    });
    if (probe.stdout !== `${SESSIONS - 1}\n`) throw new Error('a session lost its state');

    const report = {
      machine: { date: new Date().toISOString() },
      session_execute_increment: {
        n: N,
        p50_ms: percentile(samples, 0.5),
        p95_ms: percentile(samples, 0.95),
        p99_ms: percentile(samples, 0.99),
      },
      idle_sessions: {
        sessions: SESSIONS,
        created_in_s: Math.round(createSeconds * 10) / 10,
        containers_running: containers.length,
        container_memory_total_mib: mib(containerTotal),
        container_memory_per_session_mib: mib(containerTotal / containers.length),
        runner_rss_before_mib: mib(rssBefore),
        runner_rss_after_mib: mib(rssAfter),
        total_mib: mib(containerTotal + rssAfter),
      },
    };
    const dir = join(ROOT, 'bench-results');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `sessions-${new Date().toISOString().slice(0, 10)}.json`);
    writeFileSync(file, JSON.stringify(report, null, 2) + '\n');
    console.log(JSON.stringify(report, null, 2));
    console.log(`written to ${file}`);
  } finally {
    await stack.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
