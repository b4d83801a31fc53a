import { lineChart } from '../chart';
import { append, clear, h, messageOf, statusLine, table, viewSection } from '../dom';
import type { Ctx, View } from '../view';

interface MetricsReply {
  metrics: {
    active_sessions: number;
    max_sessions: number;
    executions_total: number;
    executions_by_status: Record<string, number>;
    executions_pending: number;
    latency_ms: { p50: number | null; p95: number | null; p99: number | null };
    timeouts: number;
    oom_kills: number;
  };
}

const POINTS = 180;
const STATUSES = ['success', 'error', 'timeout', 'oom', 'sandbox_died'];

/** Sums the samples of one Prometheus metric, grouped by one label (or all together). */
export function promSum(text: string, metric: string, label?: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(metric) || (line[metric.length] !== '{' && line[metric.length] !== ' ')) continue;
    const m = /^[^{\s]+(?:\{([^}]*)\})?\s+(\S+)/.exec(line);
    if (!m) continue;
    const value = Number(m[2]);
    if (!Number.isFinite(value)) continue;
    const key = label ? (new RegExp(`${label}="([^"]*)"`).exec(m[1] ?? '')?.[1] ?? '') : '';
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

/** Charts over time from GET /metrics and /metrics/prometheus, polled every two seconds. */
export class MetricsView implements View {
  readonly id = 'metrics';
  readonly title = 'Metrics';
  readonly el: HTMLElement;
  private readonly charts = h('div', { class: 'charts' });
  private readonly numbers = h('div', { id: 'metric-numbers' });
  private readonly message = statusLine();
  private timer: number | undefined;
  private readonly t: number[] = [];
  private readonly series = new Map<string, Array<number | null>>();
  private last: Record<string, number> | null = null;
  private drawn: Array<{ keys: string[]; update(x: number[], v: Array<Array<number | null>>): void }> = [];
  private pools: string[] = [];

  constructor(private readonly ctx: Ctx) {
    this.el = viewSection('Metrics', h('h2', {}, 'Metrics'), this.message, this.numbers, this.charts);
  }

  activate(): void {
    void this.poll();
    this.timer = window.setInterval(() => void this.poll(), 2000);
  }

  deactivate(): void {
    window.clearInterval(this.timer);
  }

  private push(key: string, value: number | null): void {
    const s = this.series.get(key) ?? new Array<number | null>(Math.max(0, this.t.length - 1)).fill(null);
    s.push(value);
    while (s.length > this.t.length) s.shift();
    this.series.set(key, s);
  }

  private async poll(): Promise<void> {
    try {
      const [{ metrics: m }, prom] = await Promise.all([
        this.ctx.api.get<MetricsReply>('/metrics'),
        this.ctx.api.text('/metrics/prometheus').catch(() => ''),
      ]);
      this.t.push(Date.now() / 1000);
      if (this.t.length > POINTS) this.t.shift();
      // Runs per status: what finished since the last poll.
      const now: Record<string, number> = {};
      for (const s of STATUSES) now[s] = m.executions_by_status[s] ?? 0;
      for (const s of STATUSES)
        this.push(`runs:${s}`, this.last ? Math.max(0, now[s] - (this.last[s] ?? 0)) : 0);
      this.last = now;
      this.push('p50', m.latency_ms.p50);
      this.push('p95', m.latency_ms.p95);
      this.push('p99', m.latency_ms.p99);
      this.push('active', m.active_sessions);
      const ready = promSum(prom, 'executor_runner_pool_ready', 'template');
      for (const name of ready.keys()) if (!this.pools.includes(name)) this.pools.push(name);
      for (const name of this.pools) this.push(`pool:${name}`, ready.get(name) ?? 0);
      this.push('queue', promSum(prom, 'executor_runner_queue_depth').get('') ?? 0);
      this.push('running', promSum(prom, 'executor_runner_running').get('') ?? 0);
      this.draw();
      this.charts.dataset.points = String(this.t.length);
      clear(this.numbers);
      append(
        this.numbers,
        table(
          ['Runs', 'Active sessions', 'p50', 'p95', 'p99', 'Pending', 'Timeouts', 'OOM kills'],
          [
            [
              String(m.executions_total),
              `${m.active_sessions} / ${m.max_sessions}`,
              `${m.latency_ms.p50 ?? '—'} ms`,
              `${m.latency_ms.p95 ?? '—'} ms`,
              `${m.latency_ms.p99 ?? '—'} ms`,
              String(m.executions_pending),
              String(m.timeouts),
              String(m.oom_kills),
            ],
          ],
        ),
      );
      this.message.textContent = '';
    } catch (err) {
      this.message.textContent = messageOf(err);
    }
  }

  private draw(): void {
    const groups: Array<[string, Array<[string, string]>]> = [
      ['Runs finished per poll, by status', STATUSES.map((s) => [`runs:${s}`, s])],
      [
        'Latency (ms)',
        [
          ['p50', 'p50'],
          ['p95', 'p95'],
          ['p99', 'p99'],
        ],
      ],
      ['Active sessions', [['active', 'active']]],
      ['Warm pool sandboxes ready', this.pools.map((p) => [`pool:${p}`, p])],
      [
        'Runner queue depth and running',
        [
          ['queue', 'queued'],
          ['running', 'running'],
        ],
      ],
    ];
    if (this.drawn.length !== groups.length || this.drawn[3].keys.length !== this.pools.length) {
      clear(this.charts);
      this.drawn = groups.map(([title, keys]) => {
        const c = lineChart(
          title,
          this.t,
          keys.map(([k, label]) => ({ label, values: this.series.get(k) ?? [] })),
          { time: true, height: 180 },
        );
        append(this.charts, c.el);
        return { keys: keys.map(([k]) => k), update: (x, v) => c.update(x, v) };
      });
    }
    for (const d of this.drawn)
      d.update(
        [...this.t],
        d.keys.map((k) => [...(this.series.get(k) ?? [])]),
      );
  }
}
