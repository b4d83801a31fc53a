/** The pure half of `npm run bench`: quantiles, the targets of issue 23 and the markdown table. */

export interface Quantiles {
  n: number;
  p50_ms: number;
  p95_ms: number;
  p99_ms: number;
  mean_ms: number;
  min_ms: number;
  max_ms: number;
}

const round = (v: number, places = 2) => Math.round(v * 10 ** places) / 10 ** places;

/** Nearest-rank quantiles of latency samples in milliseconds; none is an error, not zeros. */
export function quantiles(samples: number[]): Quantiles {
  if (samples.length === 0) throw new Error('no samples');
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => round(s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))]);
  return {
    n: s.length,
    p50_ms: at(0.5),
    p95_ms: at(0.95),
    p99_ms: at(0.99),
    mean_ms: round(s.reduce((a, b) => a + b, 0) / s.length),
    min_ms: round(s[0]),
    max_ms: round(s[s.length - 1]),
  };
}

/** What one store's run measured (the store-independent Docker baselines are beside it). */
export interface StoreRun {
  store: 'sqlite' | 'postgres';
  load_before: number[];
  load_after: number[];
  execute_paced: Quantiles;
  execute_back_to_back: Quantiles;
  session_execute: Quantiles;
  session_create_first_run: Quantiles;
  python_data_plot: Quantiles;
  execute_throughput_per_s: Record<string, number>;
  /** CPU milliseconds each process spent per `/session/execute` (from /proc/<pid>/stat). */
  session_execute_cpu_ms: Record<string, number>;
  /** CPU milliseconds each process (the apps, nats-server, dockerd, containerd) spent per paced `/execute`. */
  execute_cpu_ms?: Record<string, number>;
  density?: Density;
}

export interface Density {
  sessions: number;
  created_in_s: number;
  all_answered: boolean;
  x_increment: Quantiles;
  containers_mib: number;
  shims_pss_mib: number;
  apps_rss_growth_mib: number;
  /** Growth of dockerd's and containerd's RSS: the engine's bookkeeping of the containers. */
  engine_rss_growth_mib: number;
  /** all_in is container, shim and apps (issue 23's accounting); with_engine adds the engine's. */
  per_session_mib: {
    containers: number;
    shims: number;
    apps: number;
    engine: number;
    all_in: number;
    with_engine: number;
  };
  load_before: number[];
  load_after: number[];
}

/** The markdown of a density-only run (`npm run bench -- --parts density`). */
export function densityMarkdown(d: Density, meta: { date: string; cpus: number; store: string }): string {
  const m = d.per_session_mib;
  return [
    `# npm run bench -- --parts density, ${meta.date} (${meta.cpus} cores, ${meta.store})`,
    '',
    row(['', meta.store]),
    row(['---', '---']),
    row([
      'load average before / after (1, 5, 15 min)',
      `${d.load_before.join(', ')} / ${d.load_after.join(', ')}`,
    ]),
    row(['idle default sessions, created in', `${d.sessions}, ${d.created_in_s} s`]),
    row(['every one answered with its own state', d.all_answered ? 'yes' : 'no']),
    row(['MiB each all-in (container + shim + apps)', m.all_in]),
    row([
      'containers / shims / apps / engine MiB each',
      `${m.containers} / ${m.shims} / ${m.apps} / ${m.engine}`,
    ]),
    row(['MiB each with the engine (dockerd, containerd)', m.with_engine]),
    row(['x += 1 across them (p50/p95/p99 ms)', q(d.x_increment)]),
    '',
  ].join('\n');
}

export interface Baselines {
  naive_run: Quantiles;
  bare_container: Quantiles;
  bare_container_throughput_per_s: Record<string, number>;
}

export interface Target {
  name: string;
  goal: string;
  value: string;
  met: boolean;
}

/** Issue 23's targets, judged on one store's run. */
export function targets(base: Baselines, run: StoreRun): Target[] {
  const bare8 = base.bare_container_throughput_per_s['8'];
  const exec8 = run.execute_throughput_per_s['8'];
  const list: Target[] = [
    {
      name: '/session/execute p50',
      goal: '≤ 2 ms',
      value: `${run.session_execute.p50_ms} ms`,
      met: run.session_execute.p50_ms <= 2,
    },
    {
      name: '/session/execute p99',
      goal: '≤ 10 ms',
      value: `${run.session_execute.p99_ms} ms`,
      met: run.session_execute.p99_ms <= 10,
    },
    {
      name: '/execute paced p50',
      goal: '≤ 10 ms and ≤ 0.05× naive',
      value: `${run.execute_paced.p50_ms} ms (${round(run.execute_paced.p50_ms / base.naive_run.p50_ms, 3)}× naive)`,
      met: run.execute_paced.p50_ms <= 10 && run.execute_paced.p50_ms <= 0.05 * base.naive_run.p50_ms,
    },
    {
      name: 'python-data plot p50',
      goal: '≤ 120 ms',
      value: `${run.python_data_plot.p50_ms} ms`,
      met: run.python_data_plot.p50_ms <= 120,
    },
    {
      name: 'throughput at 8 clients',
      goal: '≥ 1.5× bare container churn',
      value: `${exec8}/s vs ${bare8}/s (${round(exec8 / bare8)}×)`,
      met: exec8 >= 1.5 * bare8,
    },
  ];
  if (run.density) {
    const d = run.density;
    list.push(
      {
        name: `idle sessions (${d.sessions})`,
        goal: '1,000 with ≤ 10 MiB each all-in',
        value: `${d.sessions} at ${d.per_session_mib.all_in} MiB each`,
        met: d.sessions >= 1000 && d.per_session_mib.all_in <= 10 && d.all_answered,
      },
      {
        name: `x += 1 across ${d.sessions} sessions p99`,
        goal: '≤ 50 ms',
        value: `${d.x_increment.p99_ms} ms`,
        met: d.x_increment.p99_ms <= 50,
      },
    );
  }
  return list;
}

const row = (cells: Array<string | number>) => `| ${cells.join(' | ')} |`;
const q = (v: Quantiles) => `${v.p50_ms} / ${v.p95_ms} / ${v.p99_ms}`;

/** The short markdown summary: the measurements side by side per store, then the targets. */
export function markdown(base: Baselines, runs: StoreRun[], meta: { date: string; cpus: number }): string {
  const head = row(['', ...runs.map((r) => r.store)]);
  const sep = row(['---', ...runs.map(() => '---')]);
  const line = (label: string, f: (r: StoreRun) => string | number) => row([label, ...runs.map(f)]);
  const tp = (r: StoreRun) =>
    Object.entries(r.execute_throughput_per_s)
      .map(([c, v]) => `${c}: ${v}`)
      .join(', ');
  const out = [
    `# npm run bench, ${meta.date} (${meta.cpus} cores)`,
    '',
    `Naive create/start/exec/remove (p50/p95/p99 ms): ${q(base.naive_run)}; bare container create/start/wait/remove: ${q(base.bare_container)}; bare churn per s at ${Object.entries(
      base.bare_container_throughput_per_s,
    )
      .map(([c, v]) => `${c} clients ${v}`)
      .join(', ')}.`,
    '',
    head,
    sep,
    line('load average before / after', (r) => `${r.load_before[0]} / ${r.load_after[0]}`),
    line('/execute paced 400 ms (p50/p95/p99 ms)', (r) => q(r.execute_paced)),
    line('/execute back to back', (r) => q(r.execute_back_to_back)),
    line('/session/execute x += 1', (r) => q(r.session_execute)),
    line('session create + first run', (r) => q(r.session_create_first_run)),
    line('python-data matplotlib plot', (r) => q(r.python_data_plot)),
    line('/execute per s (clients: rate)', tp),
    line('CPU ms per /session/execute', (r) =>
      Object.entries(r.session_execute_cpu_ms)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
    ),
    line(
      'CPU ms per /execute (paced)',
      (r) =>
        Object.entries(r.execute_cpu_ms ?? {})
          .map(([k, v]) => `${k} ${v}`)
          .join(', ') || '-',
    ),
    line('density: sessions, MiB each all-in', (r) =>
      r.density ? `${r.density.sessions}, ${r.density.per_session_mib.all_in}` : '-',
    ),
    line('density: containers / shims / apps MiB each', (r) =>
      r.density
        ? `${r.density.per_session_mib.containers} / ${r.density.per_session_mib.shims} / ${r.density.per_session_mib.apps}`
        : '-',
    ),
    line('density: x += 1 across them', (r) => (r.density ? q(r.density.x_increment) : '-')),
    '',
  ];
  for (const r of runs) {
    out.push(
      `Targets on ${r.store}:`,
      '',
      row(['target', 'goal', 'measured', 'met']),
      row(['---', '---', '---', '---']),
    );
    for (const t of targets(base, r)) out.push(row([t.name, t.goal, t.value, t.met ? 'yes' : 'no']));
    out.push('');
  }
  return out.join('\n');
}
