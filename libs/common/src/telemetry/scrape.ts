import { Inject, Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { RequestStrategy, type NatsConnection, type Subscription } from 'nats';
import { AggregatorRegistry, Registry, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { Subjects } from '@executor/contracts';
import { NATS_CONNECTION } from '../nats.constants';

export type RegistryJson = MetricObjectWithValues<MetricValue<string>>[];

/** Answers every scrape on the bus with this process's registries (all processes answer). */
@Injectable()
export class ScrapeResponder implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ScrapeResponder.name);
  private subscription?: Subscription;
  private readonly others: Registry[] = [];

  constructor(
    @Inject(NATS_CONNECTION) private readonly nc: NatsConnection,
    private readonly registry: Registry,
  ) {}

  /** Answers with `registry` too: series that are not this process's own (no service/instance labels). */
  include(registry: Registry): void {
    this.others.push(registry);
  }

  /** This process's registry and the ones it includes, as one list of metrics. */
  async metrics(): Promise<RegistryJson> {
    const all = await Promise.all([this.registry, ...this.others].map((r) => r.getMetricsAsJSON()));
    return all.flat();
  }

  onApplicationBootstrap(): void {
    this.subscription = this.nc.subscribe(Subjects.TelemetryScrape, {
      callback: (err, msg) => {
        if (err) return;
        this.metrics()
          .then((metrics) => msg.respond(JSON.stringify(metrics)))
          .catch((e: unknown) =>
            this.logger.warn(`could not answer a scrape: ${e instanceof Error ? e.message : String(e)}`),
          );
      },
    });
  }

  onApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }
}

/** Largest registry a process may answer with; more is dropped (a process of ours sends ~50 kB). */
const MAX_REPLY_BYTES = 4 * 1024 * 1024;

function isRegistryJson(value: unknown): value is RegistryJson {
  return (
    Array.isArray(value) &&
    value.every(
      (m) =>
        typeof m === 'object' &&
        m !== null &&
        typeof (m as { name?: unknown }).name === 'string' &&
        Array.isArray((m as { values?: unknown }).values),
    )
  );
}

/**
 * Asks every process on the bus for its registry and waits until `maxWaitMs` has passed or
 * `quietMs` went by without one more answer. Malformed or oversized answers are skipped.
 */
export async function scrapeAll(
  nc: NatsConnection,
  opts: { maxWaitMs: number; quietMs: number },
): Promise<RegistryJson[]> {
  const replies = await nc.requestMany(Subjects.TelemetryScrape, undefined, {
    strategy: RequestStrategy.JitterTimer,
    maxWait: opts.maxWaitMs,
    jitter: opts.quietMs,
  });
  const out: RegistryJson[] = [];
  for await (const msg of replies) {
    if (msg.data.length === 0 || msg.data.length > MAX_REPLY_BYTES) continue;
    try {
      const parsed: unknown = JSON.parse(new TextDecoder().decode(msg.data));
      if (isRegistryJson(parsed)) out.push(parsed);
    } catch {
      // not a registry: skipped
    }
  }
  return out;
}

/**
 * One exposition of several processes' registries. Each process's series carry its own
 * `service` and `instance` labels, so keeping the first value of each label set keeps every
 * series as it was (prom-client's own aggregators would average, sum or drop some).
 */
export function mergeRegistries(registries: RegistryJson[]): Registry {
  return AggregatorRegistry.aggregate(
    registries.map((metrics) => metrics.map((m) => ({ ...m, aggregator: 'first' as const }))),
  );
}
