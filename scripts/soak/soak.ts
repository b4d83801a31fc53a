import Docker from 'dockerode';
import { readFileSync } from 'node:fs';
import { connect } from 'nats';
import { runnerOwnSubject, Subjects } from '../../libs/contracts/src';
import { checkStore } from '../../libs/event-store/src/backup';
import type { IntegrityReport } from '../../libs/event-store/src/integrity';
import { liveSessionIds, recountMetrics } from '../lib/recount';
import { Stack, waitFor } from '../lib/stack';

/** The processes the chaos loop kills (SIGKILL) and restarts, one at a time, in turn. */
export const CHAOS_VICTIMS = ['runner', 'session-service', 'metrics', 'nats'] as const;

/** Environment of a soak stack: short timeouts and sweeps, so every fault resolves within the run. */
export const SOAK_ENV: Record<string, string> = {
  POOL_SIZES: 'default=2',
  EXECUTION_OVERHEAD_S: '10',
  SESSION_RECONCILE_INTERVAL_S: '5',
  SESSION_SWEEP_INTERVAL_MS: '1000',
  ORPHAN_SWEEP_INTERVAL_S: '10',
  MAX_SESSIONS_PER_TENANT: '100',
  RATE_LIMIT_PER_MINUTE: '100000',
  DRAIN_TIMEOUT_S: '5',
};

export interface SoakOptions {
  seconds: number;
  clients: number;
  /** Seconds between two chaos kills; 0 turns chaos off. */
  chaosEverySeconds: number;
  log?: (line: string) => void;
}

interface Sample {
  op: string;
  status: number;
  code?: string;
  ms: number;
  /** No HTTP answer at all (connection refused, reset, or our own 120 s timeout). */
  lost?: string;
}

export interface SoakReport {
  seconds: number;
  clients: number;
  chaos: Array<{ at_s: number; victim: string; healthy_again_s: number }>;
  requests: { sent: number; answered: number; succeeded: number; refused: number; lost: number };
  refused_by_code: Record<string, number>;
  latency_ms: { p50: number; p95: number; p99: number; max: number };
  latency_by_op_ms: Record<string, { n: number; p50: number; p99: number }>;
  peak_rss_mib: Record<string, number>;
  containers_leaked: number;
  /** When containers leaked: what the runner holds and what Docker has, to find out why. */
  leak_details?: unknown;
  sessions_stuck: number;
  integrity: IntegrityReport;
  metrics_match_recount: boolean;
  metrics_mismatches: string[];
}

const pct = (sorted: number[], q: number) =>
  sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : 0;

/** Resident memory of a process and its peak, from /proc (MiB). */
function rssMiB(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const m = /VmHWM:\s+(\d+) kB/.exec(status) ?? /VmRSS:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * 8 (or `clients`) clients mix one-off runs, sessions with files and metrics reads against a
 * real stack while a chaos loop SIGKILLs and restarts the runner, the session-service, the
 * metrics app and nats-server in turn. Then it checks that nothing was lost.
 */
export async function runSoak(stack: Stack, opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? (() => undefined);
  const samples: Sample[] = [];
  const peak: Record<string, number> = {};
  const started = Date.now();
  const deadline = started + opts.seconds * 1000;
  let chaosBusy = false;

  const call = async (op: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
    const t0 = Date.now();
    try {
      const res = await stack.request<{ error?: { code?: string }; session_id?: string }>(
        method,
        path,
        body,
        120000,
      );
      const code = res.status >= 400 ? (res.body?.error?.code ?? 'NO_CODE') : undefined;
      samples.push({ op, status: res.status, code, ms: Date.now() - t0 });
      // A client that honours a refusal waits a little (at most a second) before its next call.
      if (res.status === 503 || res.status === 429) {
        const after = Number(res.headers.get('retry-after') ?? 0) * 1000;
        await new Promise((r) => setTimeout(r, Math.min(1000, Math.max(250, after))));
      }
      return res;
    } catch (err) {
      samples.push({
        op,
        status: 0,
        ms: Date.now() - t0,
        lost: err instanceof Error ? err.message : String(err),
      });
      return undefined;
    }
  };

  const client = async (n: number) => {
    const tenant = `soak-${n}`;
    for (let i = 0; Date.now() < deadline; i++) {
      const pick = (i * 7 + n) % 10;
      if (pick < 4) {
        await call('execute', 'POST', '/execute', {
          tenant_id: tenant,
          code: i % 9 === 0 ? 'raise ValueError("soak")' : `print(sum(range(${1000 + i})))`,
          timeout: 5,
        });
      } else if (pick < 9) {
        const created = await call('session.create', 'POST', '/session/create', {
          tenant_id: tenant,
          scope: `c${n}-${i}`,
          ttl: 30,
        });
        const id = created?.status === 200 ? created.body.session_id : undefined;
        if (!id) continue;
        let alive = true;
        const step = async (op: string, method: 'GET' | 'POST', path: string, body?: unknown) => {
          if (!alive) return;
          const r = await call(op, method, path, body);
          if (!r || r.status >= 400) alive = false;
        };
        await step('session.execute', 'POST', '/session/execute', {
          session_id: id,
          code: 'x = 1',
          timeout: 5,
        });
        await step('files.upload', 'POST', '/session/files/upload', {
          session_id: id,
          path: 'data/in.txt',
          content: `hello ${i}`,
        });
        await step('session.execute', 'POST', '/session/execute', {
          session_id: id,
          code: "x += 1\nprint(open('data/in.txt').read(), x)",
          timeout: 5,
        });
        await step('files.list', 'GET', `/session/files/list?session_id=${id}&path=data`);
        await step('files.download', 'GET', `/session/files/download?session_id=${id}&path=data/in.txt`);
        // Most sessions are destroyed; some are left to expire (ttl 30 s).
        if (i % 4 !== 0) await call('session.destroy', 'POST', '/session/destroy', { session_id: id });
      } else {
        await call('metrics', 'GET', '/metrics');
      }
    }
  };

  const sampler = setInterval(() => {
    for (const [name, child] of stack.processes) {
      peak[name] = Math.max(peak[name] ?? 0, rssMiB(child.pid));
    }
  }, 1000);

  const chaos: SoakReport['chaos'] = [];
  const chaosLoop = async () => {
    if (opts.chaosEverySeconds <= 0) return;
    for (let k = 0; ; k++) {
      await new Promise((r) => setTimeout(r, opts.chaosEverySeconds * 1000));
      if (Date.now() > deadline - opts.chaosEverySeconds * 500) return;
      const victim = CHAOS_VICTIMS[k % CHAOS_VICTIMS.length];
      chaosBusy = true;
      const at = Date.now();
      peak[victim] = Math.max(peak[victim] ?? 0, rssMiB(stack.processes.get(victim)?.pid));
      await stack.stopProcess(victim, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 1000 + (k % 3) * 1000));
      if (victim === 'nats') stack.startNats();
      else stack.startApp(victim);
      await stack.waitHealthy(90000);
      chaos.push({
        at_s: Math.round((at - started) / 1000),
        victim,
        healthy_again_s: Math.round((Date.now() - at) / 100) / 10,
      });
      log(`chaos: killed ${victim}, healthy again after ${chaos[chaos.length - 1].healthy_again_s} s`);
      chaosBusy = false;
    }
  };

  await Promise.all([...Array.from({ length: opts.clients }, (_, n) => client(n)), chaosLoop()]);
  void chaosBusy;
  clearInterval(sampler);
  log(`load done: ${samples.length} requests`);

  // Let every fault resolve: unfinished runs marked lost, stray sandboxes closed, metrics caught up.
  await stack.waitHealthy(90000);
  let integrity = await checkStore(stack.info.dbPath);
  await waitFor(
    async () => {
      integrity = await checkStore(stack.info.dbPath);
      return integrity.ok;
    },
    90000,
    'the integrity check to pass',
  ).catch(() => undefined);

  // No session is stuck: every live one answers a run (or says clearly that it is gone).
  const live = await liveSessionIds(stack.info.dbPath);
  let stuck = 0;
  for (const id of live) {
    const r = await call('final.execute', 'POST', '/session/execute', {
      session_id: id,
      code: 'print(1)',
      timeout: 5,
    });
    if (!r || (r.status !== 200 && r.status !== 410)) stuck++;
  }

  // No container that no live session owns: the runner's containers are the live sessions'
  // sandboxes plus its warm pool.
  const poolTarget = 2;
  const docker = new Docker();
  let leaked = 0;
  await waitFor(
    async () => {
      const containers = await docker.listContainers({
        all: true,
        filters: { label: [`executor.runner=${stack.info.runnerId}`] },
      });
      const active = (await liveSessionIds(stack.info.dbPath)).length;
      leaked = Math.max(0, containers.length - active - poolTarget);
      return leaked === 0;
    },
    90000,
    'no leaked containers',
  ).catch(() => undefined);

  let leakDetails: unknown;
  if (leaked > 0) {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`executor.runner=${stack.info.runnerId}`] },
    });
    const nc = await connect({ servers: stack.info.natsUrl });
    try {
      const reply = await nc.request(
        runnerOwnSubject(stack.info.runnerId, Subjects.RunnerSessionList),
        JSON.stringify({ pattern: Subjects.RunnerSessionList, data: {}, id: '1' }),
        { timeout: 5000 },
      );
      leakDetails = {
        held: (JSON.parse(new TextDecoder().decode(reply.data)) as { response: unknown }).response,
        live: await liveSessionIds(stack.info.dbPath),
        containers: containers.map((c) => ({
          age_s: Math.round(Date.now() / 1000 - c.Created),
          state: c.State,
          sandbox: c.Labels['executor.sandbox'],
        })),
      };
    } finally {
      await nc.close();
    }
  }

  // Metrics equal a recount of the log.
  const mismatches: string[] = [];
  await waitFor(
    async () => {
      const res = await stack.request<{
        metrics: Record<string, unknown> & { projection: { position: number } };
      }>('GET', '/metrics');
      const { head, ...expected } = await recountMetrics(stack.info.dbPath);
      mismatches.length = 0;
      if (res.body.metrics.projection.position !== head)
        mismatches.push(`position ${res.body.metrics.projection.position} != ${head}`);
      for (const [k, v] of Object.entries(expected)) {
        if (JSON.stringify(sortKeys(res.body.metrics[k])) !== JSON.stringify(sortKeys(v)))
          mismatches.push(`${k}: ${JSON.stringify(res.body.metrics[k])} != ${JSON.stringify(v)}`);
      }
      return mismatches.length === 0;
    },
    60000,
    'metrics to equal the recount',
  ).catch(() => undefined);

  for (const [name, child] of stack.processes) peak[name] = Math.max(peak[name] ?? 0, rssMiB(child.pid));

  const load = samples.filter((s) => !s.op.startsWith('final.'));
  const answered = load.filter((s) => !s.lost);
  const ms = answered.map((s) => s.ms).sort((a, b) => a - b);
  const byOp: SoakReport['latency_by_op_ms'] = {};
  for (const op of [...new Set(answered.map((s) => s.op))]) {
    const v = answered
      .filter((s) => s.op === op)
      .map((s) => s.ms)
      .sort((a, b) => a - b);
    byOp[op] = { n: v.length, p50: pct(v, 0.5), p99: pct(v, 0.99) };
  }
  const refusedByCode: Record<string, number> = {};
  for (const s of answered.filter((x) => x.status >= 400))
    refusedByCode[s.code!] = (refusedByCode[s.code!] ?? 0) + 1;
  return {
    seconds: opts.seconds,
    clients: opts.clients,
    chaos,
    requests: {
      sent: load.length,
      answered: answered.length,
      succeeded: answered.filter((s) => s.status < 400).length,
      refused: answered.filter((s) => s.status >= 400).length,
      lost: load.length - answered.length,
    },
    refused_by_code: refusedByCode,
    latency_ms: { p50: pct(ms, 0.5), p95: pct(ms, 0.95), p99: pct(ms, 0.99), max: ms[ms.length - 1] ?? 0 },
    latency_by_op_ms: byOp,
    peak_rss_mib: Object.fromEntries(Object.entries(peak).map(([k, v]) => [k, Math.round(v * 10) / 10])),
    containers_leaked: leaked,
    ...(leakDetails ? { leak_details: leakDetails } : {}),
    sessions_stuck: stuck,
    integrity,
    metrics_match_recount: mismatches.length === 0,
    metrics_mismatches: mismatches.slice(0, 10),
  };
}

function sortKeys(v: unknown): unknown {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return v;
  return Object.fromEntries(
    Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)),
  );
}
