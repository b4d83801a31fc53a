import { performance } from 'node:perf_hooks';
import type { CheckResult } from '@executor/contracts';
import type { EventStore } from './event-store';

export function checkEventStore(store: EventStore): CheckResult {
  const t0 = performance.now();
  try {
    store.ping();
    return { status: 'healthy', latency_ms: Math.round(performance.now() - t0) };
  } catch {
    return { status: 'unhealthy', error: 'the event store cannot be read or written' };
  }
}
