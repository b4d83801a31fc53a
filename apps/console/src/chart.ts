import uPlot from 'uplot';
import { h } from './dom';

const COLORS = ['#4e9af1', '#f1a14e', '#5cc48a', '#e0617a', '#a77de8', '#d6c34a', '#4ec7c7', '#b0b0b0'];

/** A line chart of series over one x axis (uPlot), sized to its container and kept so. */
export function lineChart(
  title: string,
  x: number[],
  series: Array<{ label: string; values: Array<number | null> }>,
  opts: { time?: boolean; points?: boolean; height?: number } = {},
): { el: HTMLElement; update(x: number[], values: Array<Array<number | null>>): void } {
  const el = h('figure', { class: 'chart', attrs: { 'aria-label': title } });
  const width = () => Math.max(240, Math.min(el.clientWidth || 600, 1100) - 8);
  const plot = new uPlot(
    {
      title,
      width: 600,
      height: opts.height ?? 220,
      scales: { x: { time: opts.time ?? false } },
      legend: { live: false },
      series: [
        {},
        ...series.map((s, i) => ({
          label: s.label,
          stroke: COLORS[i % COLORS.length],
          width: 2,
          points: { show: opts.points ?? false },
          ...(opts.points ? { paths: () => null } : {}),
        })),
      ],
    },
    [x, ...series.map((s) => s.values)] as uPlot.AlignedData,
    el,
  );
  const resize = () => plot.setSize({ width: width(), height: opts.height ?? 220 });
  new ResizeObserver(resize).observe(el);
  return {
    el,
    update: (nx, values) => plot.setData([nx, ...values] as uPlot.AlignedData),
  };
}

interface ChartData {
  type?: unknown;
  title?: unknown;
  elements?: unknown;
}

/**
 * The chart data of a figure (application/vnd.executor.chart+json), drawn again with uPlot:
 * line and scatter charts over numeric x; others are left to the figure's image.
 */
export function chartFromData(data: ChartData): HTMLElement | null {
  if (data.type !== 'line' && data.type !== 'scatter') return null;
  if (!Array.isArray(data.elements)) return null;
  const lines: Array<{ label: string; points: Array<[number, number | null]> }> = [];
  for (const el of data.elements.slice(0, 16) as Array<{ label?: unknown; points?: unknown }>) {
    if (!Array.isArray(el.points)) continue;
    const points = (el.points as unknown[])
      .filter((p): p is [number, number | null] => Array.isArray(p) && typeof p[0] === 'number')
      .slice(0, 10000);
    lines.push({ label: typeof el.label === 'string' ? el.label : `series ${lines.length + 1}`, points });
  }
  if (lines.length === 0) return null;
  const xs = [...new Set(lines.flatMap((l) => l.points.map((p) => p[0])))].sort((a, b) => a - b);
  const series = lines.map((l) => {
    const byX = new Map(l.points.map((p) => [p[0], typeof p[1] === 'number' ? p[1] : null]));
    return { label: l.label, values: xs.map((x) => byX.get(x) ?? null) };
  });
  const title = typeof data.title === 'string' && data.title ? data.title : 'chart data';
  return lineChart(title, xs, series, { points: data.type === 'scatter' }).el;
}
