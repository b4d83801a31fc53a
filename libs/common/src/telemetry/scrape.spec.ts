import { Counter } from 'prom-client';
import { serviceRegistry } from './registry';
import { mergeRegistries } from './scrape';

describe('merging the registries of several processes', () => {
  it('keeps every series of every process, with its service and instance', async () => {
    const a = serviceRegistry('runner', 'h:1');
    const b = serviceRegistry('api', 'h:2');
    for (const [registry, n] of [
      [a, 2],
      [b, 5],
    ] as const) {
      new Counter({ name: 'executor_test_total', help: 'x', registers: [registry] }).inc(n);
    }
    const text = await mergeRegistries([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()]).metrics();
    expect(text).toContain('executor_test_total{service="runner",instance="h:1"} 2');
    expect(text).toContain('executor_test_total{service="api",instance="h:2"} 5');
    // process_start_time_seconds is dropped by prom-client's own aggregator ("omit"): kept here.
    expect(text.match(/^process_start_time_seconds\{/gm)).toHaveLength(2);
    // One HELP and TYPE a family, as the text format wants.
    expect(text.match(/^# TYPE executor_test_total /gm)).toHaveLength(1);
  });

  it('merges nothing into an empty exposition', async () => {
    expect((await mergeRegistries([]).metrics()).trim()).toBe('');
  });
});
