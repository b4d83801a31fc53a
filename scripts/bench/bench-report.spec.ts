import {
  densityMarkdown,
  markdown,
  quantiles,
  targets,
  type Baselines,
  type Quantiles,
  type StoreRun,
} from './bench-report';

const flat = (ms: number): Quantiles => quantiles([ms]);

const base: Baselines = {
  naive_run: flat(250),
  bare_container: flat(300),
  bare_container_throughput_per_s: { '1': 3, '8': 10 },
};

function run(overrides: Partial<StoreRun> = {}): StoreRun {
  return {
    store: 'sqlite',
    load_before: [1, 1, 1],
    load_after: [2, 1, 1],
    execute_paced: flat(9),
    execute_back_to_back: flat(30),
    session_execute: quantiles([1, 1.5, 2, 2, 9]),
    session_create_first_run: flat(20),
    python_data_plot: flat(110),
    execute_throughput_per_s: { '1': 20, '8': 16, '32': 15 },
    session_execute_cpu_ms: { api: 0.5 },
    ...overrides,
  };
}

describe('quantiles', () => {
  it('takes the nearest rank of the sorted samples', () => {
    const samples = Array.from({ length: 100 }, (_, i) => 100 - i); // 100 … 1, unsorted
    expect(quantiles(samples)).toEqual({
      n: 100,
      p50_ms: 50,
      p95_ms: 95,
      p99_ms: 99,
      mean_ms: 50.5,
      min_ms: 1,
      max_ms: 100,
    });
  });

  it('refuses no samples rather than reporting zeros', () => {
    expect(() => quantiles([])).toThrow('no samples');
  });
});

describe('targets', () => {
  it('are met by a run that meets them', () => {
    expect(targets(base, run()).map((t) => [t.name, t.met])).toEqual([
      ['/session/execute p50', true],
      ['/session/execute p99', true],
      ['/execute paced p50', true],
      ['python-data plot p50', true],
      ['throughput at 8 clients', true],
    ]);
  });

  it('say which are missed, against the naive path and the churn of the same run', () => {
    const slow = run({ execute_paced: flat(13), execute_throughput_per_s: { '8': 14 } });
    const missed = targets(base, slow).filter((t) => !t.met);
    expect(missed.map((t) => t.name)).toEqual(['/execute paced p50', 'throughput at 8 clients']);
    expect(missed[1].value).toBe('14/s vs 10/s (1.4×)');
    // 10 ms is under 10 ms but over 0.05× a naive path of 150 ms.
    const fastNaive = { ...base, naive_run: flat(150) };
    expect(targets(fastNaive, run({ execute_paced: flat(10) }))[2].met).toBe(false);
  });

  it('judge density on the count, the memory each and every session answering', () => {
    const density = {
      sessions: 1000,
      created_in_s: 300,
      all_answered: true,
      x_increment: flat(40),
      containers_mib: 8000,
      shims_pss_mib: 1000,
      apps_rss_growth_mib: 200,
      engine_rss_growth_mib: 100,
      per_session_mib: { containers: 8, shims: 1, apps: 0.2, engine: 0.1, all_in: 9.2, with_engine: 9.3 },
      load_before: [1, 1, 1],
      load_after: [9, 5, 2],
    };
    const met = (d: typeof density) =>
      targets(base, run({ density: d }))
        .slice(5)
        .map((t) => t.met);
    expect(met(density)).toEqual([true, true]);
    expect(met({ ...density, sessions: 200 })).toEqual([false, true]);
    expect(met({ ...density, all_answered: false })).toEqual([false, true]);
    expect(met({ ...density, x_increment: flat(51) })).toEqual([true, false]);
    const md = densityMarkdown(density, { date: '2026-12-01T20:00:00.000Z', cpus: 2, store: 'sqlite' });
    expect(md).toContain('| containers / shims / apps / engine MiB each | 8 / 1 / 0.2 / 0.1 |');
    expect(md).toContain('| load average before / after (1, 5, 15 min) | 1, 1, 1 / 9, 5, 2 |');
    expect(md).toContain('| x += 1 across them (p50/p95/p99 ms) | 40 / 40 / 40 |');
  });
});

describe('markdown', () => {
  it('puts the stores side by side and lists the targets of each', () => {
    const md = markdown(base, [run(), run({ store: 'postgres', session_execute: flat(3) })], {
      date: '2026-12-01T17:00:00.000Z',
      cpus: 2,
    });
    expect(md).toContain('|  | sqlite | postgres |');
    expect(md).toContain('| /session/execute x += 1 | 2 / 9 / 9 | 3 / 3 / 3 |');
    expect(md).toContain('Targets on postgres:');
    expect(md).toContain('| /session/execute p50 | ≤ 2 ms | 3 ms | no |');
  });
});
