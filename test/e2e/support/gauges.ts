import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { waitFor } from '../../../scripts/lib/stack';

/**
 * A gauge as GET /metrics/prometheus shows it now (the api asks every process at the time of
 * the call): the sum of its series whose labels include `labels`. Undefined when no process
 * reported it, as when the process's answer came after the scrape's window closed.
 */
export async function gaugeNow(
  apiUrl: string,
  name: string,
  labels: Record<string, string> = {},
): Promise<number | undefined> {
  const res = await fetch(`${apiUrl}/metrics/prometheus`, { signal: AbortSignal.timeout(10000) });
  if (res.status !== 200) return undefined;
  const family = parsePrometheusTextFormat(await res.text()).find((f) => f.name === name);
  const series = family?.metrics.filter((m) =>
    Object.entries(labels).every(([key, value]) => m.labels?.[key] === value),
  );
  if (!series?.length) return undefined;
  return series.reduce((n, m) => n + Number(m.value), 0);
}

/** Waits until a gauge (see gaugeNow) has a value that `ok` accepts. */
export function waitForGauge(
  apiUrl: string,
  name: string,
  labels: Record<string, string>,
  ok: (value: number) => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  return waitFor(
    async () => {
      const value = await gaugeNow(apiUrl, name, labels);
      return value !== undefined && ok(value);
    },
    timeoutMs,
    what,
  );
}
