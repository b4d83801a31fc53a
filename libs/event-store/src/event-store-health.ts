import { performance } from 'node:perf_hooks';
import type { CheckResult } from '@executor/contracts';
import type { EventStore } from './event-store';

export async function checkEventStore(store: EventStore): Promise<CheckResult> {
  const t0 = performance.now();
  try {
    await store.ping();
    return { status: 'healthy', latency_ms: Math.round(performance.now() - t0) };
  } catch {
    return { status: 'unhealthy', error: 'the event store cannot be read or written' };
  }
}
