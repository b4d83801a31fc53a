/**
 * `npm run bench`: the hot path and density of issue 23, in one run, side by side per event
 * store: the naive path (create, start, exec, remove through dockerode), bare container churn,
 * `/execute` paced and back to back, `/session/execute` of `x += 1`, session create plus first
 * run, the python-data matplotlib plot, `/execute` throughput at 1, 8 and 32 clients, the CPU
 * each process spends per session run, and N idle `default` sessions (memory each, all-in, and
 * `x += 1` across them).
 *
 *   npm run bench                                    # SQLite; PostgreSQL too when EXECUTOR_TEST_POSTGRES_URL is set
 *   npm run bench -- --store sqlite,postgres --density 200 --samples 50
 *   npm run bench -- --parts density --store sqlite --density 1000   # only the idle sessions (docs/density.md)
 *
 * Each store gets a stack of its own on free loopback ports (PostgreSQL: a throw-away database
 * on the server EXECUTOR_TEST_POSTGRES_URL names). Writes bench-results/bench-<date>.json and
 * bench-<date>.md. The load average is recorded before and after each part: on a shared
 * machine the numbers move with it. Traffic goes to loopback only.
 */
import Docker from 'dockerode';
import { existsSync, readdirSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { PassThrough } from 'node:stream';
import { createDatabase } from '../../libs/event-store/src/testing/postgres';
import { readArgs } from '../lib/cli-args';
import { ROOT, Stack } from '../lib/stack';
import { cpuMs, PLOT } from './probes';
import { agent, benchEnv, dropIdleSockets, eachAtMost, post, retryRefused, sleep } from './bench-client';
import {
  densityMarkdown,
  markdown,
  quantiles,
  targets,
  type Baselines,
  type Density,
  type StoreRun,
} from './bench-report';

const IMAGE = 'executor/default:latest';
const docker = new Docker();
const load = () => loadavg().map((v) => Math.round(v * 100) / 100);
const mib = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

async function sequential(fn: () => Promise<unknown>, n: number, paceMs = 0) {
  const samples: number[] = [];
  for (let i = 0; i < n; i++) {
    if (paceMs > 0) await sleep(paceMs);
    samples.push(await timed(fn));
  }
  return quantiles(samples);
}

/** Operations per second with `clients` workers doing `total` operations in all. */
async function throughput(fn: () => Promise<unknown>, total: number, clients: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < total) await fn();
    }),
  );
  return Math.round((total / ((performance.now() - t0) / 1000)) * 100) / 100;
}

/** What the original executor does per request: create, start, exec, read, remove. */
async function naiveRun(): Promise<void> {
  const container = await docker.createContainer({
    Image: IMAGE,
    Cmd: ['sleep', 'infinity'],
    User: '10001:10001',
    HostConfig: { NetworkMode: 'none', ReadonlyRootfs: true, Memory: 512 * 1024 * 1024 },
  });
  try {
    await container.start();
    const exec = await container.exec({
      Cmd: ['python3', '-c', 'print(1)'],
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const out = new PassThrough();
    let text = '';
    out.on('data', (c: Buffer) => (text += c.toString()));
    docker.modem.demuxStream(stream, out, new PassThrough());
    await new Promise((r) => stream.on('end', r));
    if (text !== '1\n') throw new Error(`the naive run printed ${JSON.stringify(text)}`);
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

async function baselines(samples: number): Promise<Baselines> {
  await naiveRun();
  await bareContainer();
  return {
    naive_run: await sequential(naiveRun, samples),
    bare_container: await sequential(bareContainer, samples),
    bare_container_throughput_per_s: {
      '1': await throughput(bareContainer, samples, 1),
      '8': await throughput(bareContainer, Math.max(samples, 32), 8),
    },
  };
}

/** dockerd and containerd: the engine every one-off's container costs. */
function engineProcesses(): Array<readonly [string, number]> {
  const found: Array<readonly [string, number]> = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'dockerd' || comm === 'containerd') found.push([comm, Number(entry)]);
    } catch {
      // gone
    }
  }
  return found;
}

function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Proportional set size of a process (its share of pages it shares with others). */
function pssBytes(pid: number): number {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    return Number(/^Pss:\s+(\d+) kB/m.exec(rollup)?.[1] ?? 0) * 1024;
  } catch {
    return 0;
  }
}

/** The containerd shims of these containers (`containerd-shim-runc-v2 … -id <container id>`). */
function shimPids(containerIds: Set<string>): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.includes('containerd-shim')) continue;
      const id = argv[argv.indexOf('-id') + 1];
      if (id && containerIds.has(id)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

/** Memory a container uses now, from its cgroup (v2 or v1). */
function containerBytes(id: string): number {
  for (const path of [
    `/sys/fs/cgroup/system.slice/docker-${id}.scope/memory.current`,
    `/sys/fs/cgroup/docker/${id}/memory.current`,
    `/sys/fs/cgroup/memory/docker/${id}/memory.usage_in_bytes`,
  ]) {
    try {
      return Number(readFileSync(path, 'utf8').trim());
    } catch {
      // another layout
    }
  }
  return 0;
}

/** dockerd and containerd: what the engine itself holds per container shows in their RSS. */
function enginePids(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'dockerd' || comm === 'containerd') pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

async function runnerContainers(runnerId: string): Promise<Set<string>> {
  const list = await docker.listContainers({ filters: { label: [`executor.runner=${runnerId}`] } });
  return new Set(list.map((c) => c.Id));
}

/** N idle sessions of `default`: what each costs all-in, and `x += 1` across all of them. */
async function density(stack: Stack, api: string, n: number): Promise<Density> {
  const apps = ['runner', 'session-service', 'api', 'metrics'].map((a) => stack.processes.get(a)!.pid!);
  const appsBefore = apps.reduce((s, p) => s + rssBytes(p), 0);
  const engine = enginePids();
  const engineRss = () => engine.reduce((s, p) => s + (existsSync(`/proc/${p}`) ? rssBytes(p) : 0), 0);
  const engineBefore = engineRss();
  const loadBefore = load();
  const before = await runnerContainers(stack.info.runnerId);
  const t0 = performance.now();
  const ids: string[] = [];
  // Four at a time, as they were made: left to the stack's stop, the runner would remove them
  // all at once (a thousand `docker rm` in parallel load a small host for minutes).
  const destroyAll = () =>
    eachAtMost(ids.length, 4, async (i) => {
      if (ids[i]) await post(api, '/session/destroy', { session_id: ids[i] }).catch(() => undefined);
    });
  // A few creates at once, as agents would make them.
  const creating = eachAtMost(n, 4, async (i) => {
    const s = await retryRefused(() =>
      post(api, '/session/create', { tenant_id: 'density', scope: `idle-${i}`, ttl: 3600 }),
    );
    await post(api, '/session/execute', { session_id: s.session_id, code: 'x = 0' });
    ids[i] = s.session_id!;
    if ((i + 1) % 100 === 0)
      process.stderr.write(
        `density: ${i + 1} sessions in ${Math.round((performance.now() - t0) / 1000)} s, load ${load().join(' ')}\n`,
      );
  });
  await creating.catch(async (err: unknown) => {
    await destroyAll();
    throw err;
  });
  const createdS = (performance.now() - t0) / 1000;
  await sleep(5000); // let the pool refill and the apps settle
  const after = await runnerContainers(stack.info.runnerId);
  // The sessions' containers: the runner's new ones (a refilled pool's few count with them).
  const sessionContainers = new Set([...after].filter((id) => !before.has(id)));
  const containers = [...sessionContainers].reduce((s, id) => s + containerBytes(id), 0);
  const shims = shimPids(sessionContainers).reduce((s, p) => s + pssBytes(p), 0);
  const appsGrowth = Math.max(0, apps.reduce((s, p) => s + rssBytes(p), 0) - appsBefore);
  // The engine is shared with whatever else runs on the host: its growth is an estimate.
  const engineGrowth = Math.max(0, engineRss() - engineBefore);
  const perContainer = containers / Math.max(1, sessionContainers.size);
  const perShim = shims / Math.max(1, sessionContainers.size);
  // Every session answers with its own state.
  const samples: number[] = [];
  let answered = 0;
  try {
    // The API closes a connection idle for 5 s (its keep-alive timeout): the measuring above took
    // longer, and a request sent on a socket the server is closing fails with a hang-up.
    dropIdleSockets();
    for (const id of ids) {
      const t = performance.now();
      const r = await post(api, '/session/execute', { session_id: id, code: 'x += 1\nx' });
      samples.push(performance.now() - t);
      if (r.results?.[0]?.data['text/plain'] === '1') answered++;
    }
  } finally {
    await destroyAll();
    // A destroy answers before its container is removed: wait for the runner's removals, or the
    // stack's stop would remove what is left all at once.
    const deadline = Date.now() + 600_000;
    while (Date.now() < deadline && (await runnerContainers(stack.info.runnerId)).size > before.size + 4)
      await sleep(2000);
  }
  return {
    sessions: n,
    created_in_s: Math.round(createdS * 10) / 10,
    all_answered: answered === n,
    x_increment: quantiles(samples),
    containers_mib: mib(containers),
    shims_pss_mib: mib(shims),
    apps_rss_growth_mib: mib(appsGrowth),
    engine_rss_growth_mib: mib(engineGrowth),
    per_session_mib: {
      containers: mib(perContainer),
      shims: mib(perShim),
      apps: mib(appsGrowth / n),
      engine: mib(engineGrowth / n),
      all_in: mib(perContainer + perShim + appsGrowth / n),
      with_engine: mib(perContainer + perShim + (appsGrowth + engineGrowth) / n),
    },
    load_before: loadBefore,
    load_after: load(),
  };
}

/** `--parts density`: only the idle sessions, on one store (a 1,000-session run is long enough). */
async function densityRun(store: 'sqlite' | 'postgres', densityN: number): Promise<Density> {
  const database = store === 'postgres' ? await createDatabase() : undefined;
  const stack = await Stack.create(benchEnv({ sessions: densityN, databaseUrl: database?.url }));
  try {
    await stack.start();
    const api = stack.info.apiUrl;
    await post(api, '/execute', { tenant_id: 'bench', code: 'print(1)' });
    await sleep(3000);
    return await density(stack, api, densityN);
  } finally {
    await stack.stop();
    await database?.drop();
  }
}

async function storeRun(store: 'sqlite' | 'postgres', samples: number, densityN: number): Promise<StoreRun> {
  const database = store === 'postgres' ? await createDatabase() : undefined;
  const stack = await Stack.create(benchEnv({ sessions: densityN, databaseUrl: database?.url }));
  try {
    await stack.start();
    const api = stack.info.apiUrl;
    const t = 'bench';
    const once = () => post(api, '/execute', { tenant_id: t, code: 'print(1)' });
    // Warm up every path (page cache, first connections, template caches), then let the pools refill.
    await once();
    await post(api, '/execute', { tenant_id: t, code: PLOT, template: 'python-data' });
    await sleep(3000);
    const loadBefore = load();
    // A one-off's CPU is mostly the engine's (a container per run): dockerd and containerd too.
    const oneOffPids: Array<readonly [string, number]> = [
      ...[...stack.processes].filter(([, c]) => c.pid).map(([name, c]) => [name, c.pid!] as const),
      ...engineProcesses(),
    ];
    const oneOffCpuBefore = oneOffPids.map(([, p]) => cpuMs(p));
    const executePaced = await sequential(once, samples, 400);
    // What a run leaves behind (its container's removal, the pool's refill) is part of its cost.
    await sleep(1000);
    const executeCpu = Object.fromEntries(
      oneOffPids.map(([name, p], i) => [
        name,
        Math.round(((cpuMs(p) - oneOffCpuBefore[i]) / samples) * 100) / 100,
      ]),
    );
    const executeBackToBack = await sequential(once, samples);
    await sleep(2000);

    const { session_id } = await post(api, '/session/create', { tenant_id: t, scope: 'latency' });
    await post(api, '/session/execute', { session_id, code: 'x = 0' });
    for (let i = 0; i < 20; i++) await post(api, '/session/execute', { session_id, code: 'x += 1' });
    const pids = [...stack.processes].filter(([, c]) => c.pid).map(([name, c]) => [name, c.pid!] as const);
    const cpuBefore = pids.map(([, p]) => cpuMs(p));
    const runs = samples * 10;
    const session = await sequential(
      () => post(api, '/session/execute', { session_id, code: 'x += 1' }),
      runs,
    );
    const cpu = Object.fromEntries(
      pids.map(([name, p], i) => [name, Math.round(((cpuMs(p) - cpuBefore[i]) / runs) * 100) / 100]),
    );
    const check = await post(api, '/session/execute', { session_id, code: 'x' });
    if (check.results?.[0]?.data['text/plain'] !== String(runs + 20))
      throw new Error('the counter did not count');
    await post(api, '/session/destroy', { session_id });

    const createFirst = await sequential(
      async () => {
        const s = await post(api, '/session/create', { tenant_id: t, scope: 'first', reuse: false });
        await post(api, '/session/execute', { session_id: s.session_id, code: 'print(1)' });
        void post(api, '/session/destroy', { session_id: s.session_id }).catch(() => undefined);
      },
      Math.max(10, Math.floor(samples / 2)),
      500,
    );
    const plot = await sequential(
      async () => {
        const r = await post(api, '/execute', { tenant_id: t, code: PLOT, template: 'python-data' });
        if (!r.artifacts?.some((a) => a.type === 'image/png')) throw new Error('no PNG came back');
      },
      Math.max(10, Math.floor(samples / 2)),
      2000,
    );
    const rates: Record<string, number> = {};
    for (const clients of [1, 8, 32]) {
      await sleep(2000);
      rates[String(clients)] = await throughput(once, Math.max(samples, clients * 2), clients);
    }
    const run: StoreRun = {
      store,
      load_before: loadBefore,
      load_after: load(),
      execute_paced: executePaced,
      execute_back_to_back: executeBackToBack,
      session_execute: session,
      session_create_first_run: createFirst,
      python_data_plot: plot,
      execute_throughput_per_s: rates,
      session_execute_cpu_ms: cpu,
      execute_cpu_ms: executeCpu,
    };
    if (densityN > 0) {
      await sleep(2000);
      run.density = await density(stack, api, densityN);
    }
    run.load_after = load();
    return run;
  } finally {
    await stack.stop();
    await database?.drop();
  }
}

async function main(): Promise<void> {
  const { values } = readArgs(process.argv.slice(2), {
    store: 'string',
    density: 'integer',
    samples: 'integer',
    parts: 'string',
  });
  const stores = (values.store ?? (process.env.EXECUTOR_TEST_POSTGRES_URL ? 'sqlite,postgres' : 'sqlite'))
    .split(',')
    .map((s) => s.trim());
  for (const s of stores) {
    if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--store takes sqlite and postgres, not ${s}`);
  }
  if (stores.includes('postgres') && !process.env.EXECUTOR_TEST_POSTGRES_URL)
    throw new Error(
      '--store postgres needs EXECUTOR_TEST_POSTGRES_URL (a server where it may create a database)',
    );
  const samples = values.samples ?? 30;
  const densityN = values.density ?? 20;
  const started = new Date().toISOString();
  const loadAtStart = load();
  if (values.parts !== undefined && values.parts !== 'all') {
    if (values.parts !== 'density') throw new Error(`--parts takes all or density, not ${values.parts}`);
    const store = stores[0] as StoreRun['store'];
    const d = await densityRun(store, densityN);
    const meta = { date: started, cpus: availableParallelism(), store };
    const stem = join(
      ROOT,
      'bench-results',
      `density-${densityN}-${store}-${started.slice(0, 16).replace(':', '')}`,
    );
    mkdirSync(join(ROOT, 'bench-results'), { recursive: true });
    writeFileSync(
      `${stem}.json`,
      `${JSON.stringify({ machine: { ...meta, load_at_start: loadAtStart, load_at_end: load() }, density: d }, null, 2)}\n`,
    );
    const md = densityMarkdown(d, meta);
    writeFileSync(`${stem}.md`, `${md}\n`);
    process.stdout.write(`${md}\n${stem}.json\n${stem}.md\n`);
    agent.destroy();
    return;
  }
  const base = await baselines(samples);
  const runs: StoreRun[] = [];
  for (const store of stores) runs.push(await storeRun(store as StoreRun['store'], samples, densityN));
  const meta = { date: started, cpus: availableParallelism() };
  const report = {
    machine: { ...meta, load_at_start: loadAtStart, load_at_end: load() },
    options: { stores, samples, density: densityN },
    baselines: base,
    runs,
    targets: Object.fromEntries(runs.map((r) => [r.store, targets(base, r)])),
  };
  const dir = join(ROOT, 'bench-results');
  mkdirSync(dir, { recursive: true });
  const stem = join(dir, `bench-${started.slice(0, 10)}`);
  writeFileSync(`${stem}.json`, `${JSON.stringify(report, null, 2)}\n`);
  const md = markdown(base, runs, meta);
  writeFileSync(`${stem}.md`, `${md}\n`);
  process.stdout.write(`${md}\n${stem}.json\n${stem}.md\n`);
  agent.destroy();
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
